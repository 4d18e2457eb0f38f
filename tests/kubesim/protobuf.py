"""Decode the protobuf bodies client-go sends (Secret, ConfigMap, DeleteOptions).

Wire format: `k8s\\0` then a runtime.Unknown message whose `raw` field holds the object.
Only the fields helm and client-go actually send are mapped; unknown fields are skipped.
"""

import base64

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(buf):
    """Yield (field_number, wire_type, value) for a message; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wtype = key >> 3, key & 7
        if wtype == 0:
            val, pos = _varint(buf, pos)
        elif wtype == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ProtobufError("truncated length-delimited field")
            val = bytes(buf[pos:pos + length])
            pos += length
        elif wtype == 1:
            val = int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wtype == 5:
            val = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wtype}")
        yield num, wtype, val


def _map_entry(buf):
    key, value = "", b""
    for num, _, val in fields(buf):
        if num == 1:
            key = val.decode()
        elif num == 2:
            value = val
    return key, value


def _owner_reference(buf):
    out = {}
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    for num, _, val in fields(buf):
        if num in names:
            out[names[num]] = val.decode()
        elif num == 6:
            out["controller"] = bool(val)
        elif num == 7:
            out["blockOwnerDeletion"] = bool(val)
    return out


def object_meta(buf):
    meta = {}
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    for num, _, val in fields(buf):
        # gogo-protobuf writes empty strings and zeros too: treat them as unset.
        if num in strings:
            if val:
                meta[strings[num]] = val.decode()
        elif num == 7:
            if val:
                meta["generation"] = val
        elif num in (11, 12):
            k, v = _map_entry(val)
            meta.setdefault("labels" if num == 11 else "annotations", {})[k] = v.decode()
        elif num == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(val))
        elif num == 14:
            meta.setdefault("finalizers", []).append(val.decode())
    return meta


def secret(buf):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}
    for num, _, val in fields(buf):
        if num == 1:
            obj["metadata"] = object_meta(val)
        elif num == 2:
            k, v = _map_entry(val)
            obj.setdefault("data", {})[k] = base64.b64encode(v).decode()
        elif num == 3:
            if val:
                obj["type"] = val.decode()
        elif num == 4:
            k, v = _map_entry(val)
            obj.setdefault("stringData", {})[k] = v.decode()
        elif num == 5:
            obj["immutable"] = bool(val)
    return obj


def config_map(buf):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    for num, _, val in fields(buf):
        if num == 1:
            obj["metadata"] = object_meta(val)
        elif num == 2:
            k, v = _map_entry(val)
            obj.setdefault("data", {})[k] = v.decode()
        elif num == 3:
            k, v = _map_entry(val)
            obj.setdefault("binaryData", {})[k] = base64.b64encode(v).decode()
        elif num == 4:
            obj["immutable"] = bool(val)
    return obj


def delete_options(buf):
    obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
    for num, wtype, val in fields(buf):
        if num == 1 and wtype == 0:
            obj["gracePeriodSeconds"] = val - (1 << 64) if val >= 1 << 63 else val
        elif num == 2:
            pre = {}
            for pnum, _, pval in fields(val):
                if pnum == 1:
                    pre["uid"] = pval.decode()
                elif pnum == 2:
                    pre["resourceVersion"] = pval.decode()
            obj["preconditions"] = pre
        elif num == 3:
            obj["orphanDependents"] = bool(val)
        elif num == 4:
            if val:
                obj["propagationPolicy"] = val.decode()
        elif num == 5:
            obj.setdefault("dryRun", []).append(val.decode())
    return obj


DECODERS = {"Secret": secret, "ConfigMap": config_map, "DeleteOptions": delete_options}


def decode(body):
    """Decode a `k8s\\0` envelope into a JSON-style dict; ProtobufError if unsupported."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for num, _, val in fields(body[len(MAGIC):]):
        if num == 1:
            for tnum, _, tval in fields(val):
                if tnum == 1:
                    api_version = tval.decode()
                elif tnum == 2:
                    kind = tval.decode()
        elif num == 2:
            raw = val
    if kind not in DECODERS:
        raise ProtobufError(f"protobuf decoding of {kind or 'unknown kind'} is not supported")
    obj = DECODERS[kind](raw)
    if api_version and kind != "DeleteOptions":
        obj["apiVersion"] = api_version
    return obj


# --- encoder, used by tests to build bodies like client-go does ---------------------------

def _enc_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc_field(num, value):
    """Encode one field: int -> varint, str/bytes -> length-delimited."""
    if isinstance(value, bool) or isinstance(value, int):
        return _enc_varint(num << 3) + _enc_varint(int(value) & ((1 << 64) - 1))
    if isinstance(value, str):
        value = value.encode()
    return _enc_varint(num << 3 | 2) + _enc_varint(len(value)) + value


def enc_map(num, mapping):
    return b"".join(enc_field(num, enc_field(1, k) + enc_field(2, v)) for k, v in mapping.items())


def envelope(api_version, kind, raw):
    type_meta = enc_field(1, api_version) + enc_field(2, kind)
    return MAGIC + enc_field(1, type_meta) + enc_field(2, raw)
