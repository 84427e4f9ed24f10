"""Build hook: generates the protobuf and gRPC stubs from the repository's proto/ with grpcio-tools.

The stubs land in src/tributary_sdk/_gen/ (ignored by git) before setuptools collects the
package, so `pip install ./sdks/python` always ships stubs that match proto/. The proto is
copied under a `tributary_sdk/_gen/` import root first so that the generated modules import
each other as `tributary_sdk._gen.tributary.connector.v1...` instead of a top-level
`tributary` package.

Set TRIBUTARY_PROTO_DIR to build from a proto/ folder somewhere else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.command.develop import develop

HERE = Path(__file__).resolve().parent
PROTOS = ["tributary/connector/v1/connector.proto"]
GEN = HERE / "src" / "tributary_sdk" / "_gen"


def proto_dir() -> Path:
    override = os.environ.get("TRIBUTARY_PROTO_DIR")
    candidate = Path(override) if override else HERE.parent.parent / "proto"
    if not (candidate / PROTOS[0]).is_file():
        raise SystemExit(
            f"tributary-sdk build: {candidate / PROTOS[0]} not found; build from the Tributary "
            "repository (pip install ./sdks/python) or set TRIBUTARY_PROTO_DIR to its proto/ folder"
        )
    return candidate


def generate() -> None:
    from grpc_tools import protoc  # a build requirement (pyproject.toml)

    source = proto_dir()
    if GEN.exists():
        shutil.rmtree(GEN)
    with tempfile.TemporaryDirectory(prefix="tributary-sdk-proto-") as tmp:
        root = Path(tmp)
        for rel in PROTOS:
            target = root / "tributary_sdk" / "_gen" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
        out = HERE / "src"
        files = [f"tributary_sdk/_gen/{rel}" for rel in PROTOS]
        args = ["grpc_tools.protoc", f"-I{root}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *files]
        if protoc.main(args) != 0:
            raise SystemExit("tributary-sdk build: grpc_tools.protoc failed (see above)")
    for folder in [GEN, *[p for p in GEN.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    (GEN / "__init__.py").write_text('"""Generated from proto/ by setup.py (grpcio-tools). Do not edit."""\n')


class GenerateStubs(Command):
    description = "generate protobuf/gRPC stubs from proto/"
    user_options: list[tuple[str, str | None, str]] = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        generate()


class BuildPy(build_py):
    def run(self) -> None:
        generate()
        # find_packages ran before the stubs existed: add the generated packages now.
        pkgs = set(self.packages or [])
        for init in GEN.rglob("__init__.py"):
            pkgs.add(".".join(init.parent.relative_to(HERE / "src").parts))
        self.packages = sorted(pkgs)
        super().run()


class Develop(develop):
    def run(self) -> None:
        generate()
        super().run()


setup(cmdclass={"build_py": BuildPy, "develop": Develop, "generate_stubs": GenerateStubs})
