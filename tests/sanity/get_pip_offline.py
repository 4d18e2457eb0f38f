"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip from a host this project's machines cannot reach; the Makefile copies this
file into ~/.ansible/test/cache/ where ansible-test looks first. Like get-pip it is run with the new
virtual environment's interpreter and pip install arguments: we bootstrap pip from the interpreter's
own ensurepip, then install what was asked from the package index.
"""
import subprocess
import sys

# get-pip's own switches, which pip itself does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)


if __name__ == "__main__":
    main()
