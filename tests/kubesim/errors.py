"""Kubernetes `Status` errors."""


class ApiError(Exception):
    """An error the API server returns as a `Status` object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            out["details"] = self.details
        return out


def _details(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                    _details(res, name))


def conflict(res, name, why="the object has been modified; please apply your changes to the "
                            "latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}',
                    _details(res, name))


def invalid(res, name, causes):
    """422 Invalid; `causes` is a list of (field, message)."""
    text = "; ".join(f"{f}: {m}" for f, m in causes)
    details = _details(res, name)
    details["kind"] = res.kind
    details["causes"] = [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]
    return ApiError(422, "Invalid", f'{res.kind}.{res.group or "core"} "{name}" is invalid: {text}'
                    if res.group else f'{res.kind} "{name}" is invalid: {text}', details)


def unprocessable(message):
    """422 for a request that is well-formed but cannot be applied (a JSON patch whose test fails)."""
    return ApiError(422, "UnprocessableEntity", message)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(ctype):
    return ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                    f'accepted media types include: application/json, application/yaml, '
                    f'application/vnd.kubernetes.protobuf; got "{ctype}"')


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message="too old resource version"):
    return ApiError(410, "Expired", message)


def service_unavailable(message="the server is currently unable to handle the request"):
    return ApiError(503, "ServiceUnavailable", message)


def internal(code, message="an error on the server has prevented the request from succeeding"):
    reasons = {500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable",
               504: "Timeout", 429: "TooManyRequests", 409: "Conflict", 403: "Forbidden",
               404: "NotFound", 401: "Unauthorized"}
    return ApiError(code, reasons.get(code, "InternalError"), message)
