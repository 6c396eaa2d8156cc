"""Generate the strict PATCH models of Graph's directory resources from the models msgraph-sdk generates.

Run it when Graph's metadata moves on (needs both SDKs; nothing here runs at test or CI time):

    uv run --with msgraph-beta-sdk==1.66.0 python tools/generate_models.py

It writes worker/models/generated/v1_0.py (from msgraph-sdk, a dev dependency) and
worker/models/generated/beta.py (from msgraph-beta-sdk, only for this run). Why the SDKs and not the CSDL:
the SDKs are Kiota's output from Graph's published CSDL (with descriptions), current for both versions,
and installable by name; the snapshot of microsoftgraph/msgraph-metadata we can read lacks the current beta
CSDL, and its v1.0 CSDL marks read-only only `createdByAppId` among these five types (Core.V1.Computed,
Permissions/Read and Immutable annotations), while the descriptions say "Read-only." of 60 and more.

What each SDK model gives, and what the generator makes of it:
- the properties and their JSON types: each `get_field_deserializers()` callback is run on a recording
  parse node, which tells the getter (string, GUID, date, enum E, object X, collection of ...);
- navigation properties: those whose type is an entity (structural properties can only be primitive,
  enum or complex); they are not fields, their names are kept so a message can say why;
- read-only properties: those whose description has the sentence "Read-only." (not "Read-only for users
  synced ...", which is conditional); not fields either, their names kept for the message;
- every complex type and enum reachable from the five entities through writable structural properties
  (what is only reachable through read-only or navigation properties is cut).
- the five entities are marked `directory_extensions`: they also take `extension_{appId}_{name}`
  properties, which no metadata can list (`worker.models.extensions`).

What is cut or approximated: derived types (`@odata.type` must name the declared type, as in the seed's
models); Edm.Int32 and Edm.Int64 both become Int64 (the SDK maps both to int); a flags enum is known by
Kiota reading it as a collection while declaring one value (its JSON is "a,b"); a complex type that
declares no property is taken as open (Graph's customSecurityAttributeValue, like the seed's detailsInfo).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "worker" / "models" / "generated"

#: The resources, as (Graph type name, SDK module under `generated.models`).
ENTITIES = (
    ("user", "user"),
    ("group", "group"),
    ("device", "device"),
    ("application", "application"),
    ("servicePrincipal", "service_principal"),
)

#: Graph version -> (SDK package, distribution name, output module).
SDKS = {
    "v1.0": ("msgraph", "msgraph-sdk", "v1_0"),
    "beta": ("msgraph_beta", "msgraph-beta-sdk", "beta"),
}

#: Kiota parse-node getters of primitive values -> the annotation in the generated model.
PRIMITIVES = {
    "get_str_value": "str",
    "get_bool_value": "bool",
    "get_int_value": "Int64",
    "get_float_value": "Double",
    "get_datetime_value": "DateTimeOffset",
    "get_date_value": "Date",
    "get_time_value": "TimeOfDay",
    "get_timedelta_value": "Duration",
    "get_uuid_value": "Guid",
    "get_bytes_value": "Binary",
}
#: Python types a Kiota collection of primitives names -> the annotation of an item.
PRIMITIVE_ITEMS = {
    "str": "str",
    "bool": "bool",
    "int": "Int64",
    "float": "Double",
    "UUID": "Guid",
    "datetime": "DateTimeOffset",
    "date": "Date",
    "time": "TimeOfDay",
    "timedelta": "Duration",
    "bytes": "Binary",
}

READ_ONLY = re.compile(r"(?:^|[.!?]\s+)Read-only\.(?=\s|$)")
COMMENTED_FIELD = re.compile(r"^    # (?P<comment>.*)\n    (?P<attr>\w+): ", re.MULTILINE)
# attribute names pydantic's BaseModel owns (a property named so gets a trailing underscore)
RESERVED = frozenset({"copy", "dict", "json", "schema", "construct", "validate", "fields", "parse_obj"})


@dataclass
class Prop:
    """One property of a Graph type as the SDK declares it."""

    json_name: str
    attr: str
    annotation: str
    read_only: bool
    navigation: bool


@dataclass
class GraphType:
    """A Graph entity or complex type to emit as a model."""

    graph_name: str
    class_name: str
    props: list[Prop] = field(default_factory=list)
    root: bool = False  # one of ENTITIES


@dataclass
class Closure:
    """Everything one version's module holds: models (dependencies first) and enum Literals."""

    types: dict[str, GraphType] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)  # enums whose value is members joined by commas


class _Recorder:
    """A parse node that records which getter a deserializer calls, and with what."""

    def __init__(self, sentinel: object) -> None:
        self.sentinel = sentinel
        self.call: tuple[str, tuple[Any, ...]] = ("", ())

    def __getattr__(self, name: str) -> Any:
        def getter(*args: Any) -> object:
            self.call = (name, args)
            return self.sentinel

        return getter


def graph_name_of(cls: type, package: str) -> str:
    """microsoft.graph[.sub].camelName for an SDK model class."""
    module = cls.__module__.removeprefix(f"{package}.generated.models")
    namespace = "microsoft.graph" + ".".join(_camel(part) for part in module.split(".")[:-1])
    name = cls.__name__
    return f"{namespace}.{name[0].lower()}{name[1:]}"


def _camel(snake: str) -> str:
    """cloud_licensing -> cloudLicensing (Kiota's module of a sub-namespace)."""
    first, *rest = snake.split("_")
    return first + "".join(word.capitalize() for word in rest)


def declared_types(cls: type) -> dict[str, str]:
    """Attribute -> its annotation as written (a string: the SDK's modules use postponed annotations)."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        found.update({name: str(hint) for name, hint in vars(klass).get("__annotations__", {}).items()})
    return found


def descriptions(cls: type) -> dict[str, str]:
    """Attribute -> description comment, over the class and its bases."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith(("msgraph", "msgraph_beta")):
            found.update({m["attr"]: m["comment"] for m in COMMENTED_FIELD.finditer(inspect.getsource(klass))})
    return found


def recorded_properties(cls: type) -> list[tuple[str, str, str, tuple[Any, ...]]]:
    """(JSON name, attribute, getter, getter args) of every property the SDK model deserializes."""
    sentinel = object()
    instance = cls()
    found = []
    for json_name, deserialize in instance.get_field_deserializers().items():
        if json_name == "@odata.type":
            continue
        recorder = _Recorder(sentinel)
        deserialize(recorder)
        attr = next(name for name, value in vars(instance).items() if value is sentinel)
        setattr(instance, attr, None)
        found.append((json_name, attr, *recorder.call))
    return found


class Introspector:
    """Walks one SDK from the five entities to every complex type and enum their writable properties reach."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.entity = importlib.import_module(f"{package}.generated.models.entity").Entity
        self.closure = Closure()

    def run(self) -> Closure:
        for _, module in ENTITIES:
            models = importlib.import_module(f"{self.package}.generated.models.{module}")
            cls = next(c for c in vars(models).values() if inspect.isclass(c) and c.__module__ == models.__name__)
            self.closure.types[self.visit(cls)].root = True
        return self.closure

    def visit(self, cls: type) -> str:
        """Add a model for `cls` (and what it needs, first); its class name."""
        name = cls.__name__
        if name in self.closure.types:
            return name
        graph_type = GraphType(graph_name_of(cls, self.package), name)
        self.closure.types[name] = graph_type
        notes, hints = descriptions(cls), declared_types(cls)
        for json_name, attr, getter, args in recorded_properties(cls):
            # Kiota reads a flags enum ("a,b") as a collection, but declares one value
            flags = getter == "get_collection_of_enum_values" and "list[" not in hints.get(attr, "list[")
            kind = "flags" if flags else getter
            graph_type.props.append(self.prop(json_name, attr, kind, args, notes.get(attr, "")))
        self.closure.order.append(name)
        return name

    def prop(self, json_name: str, attr: str, getter: str, args: tuple[Any, ...], note: str) -> Prop:
        target = args[0] if args else None
        navigation = inspect.isclass(target) and issubclass(target, self.entity)
        read_only = not navigation and bool(READ_ONLY.search(note))
        annotation = "" if navigation or read_only else self.annotation(getter, target)
        attr = f"{attr}_" if attr in RESERVED or attr.startswith("model_") else attr
        return Prop(json_name, attr, annotation, read_only, navigation)

    def annotation(self, getter: str, target: Any) -> str:
        """The pydantic annotation of a writable structural property."""
        if getter in PRIMITIVES:
            return PRIMITIVES[getter]
        if getter == "get_collection_of_primitive_values":
            return f"list[{PRIMITIVE_ITEMS[target.__name__]}]"
        if getter in {"get_enum_value", "get_collection_of_enum_values", "flags"}:
            self.closure.enums[target.__name__] = tuple(member.value for member in target)
            if getter == "flags":
                self.closure.flags.add(target.__name__)
            item = target.__name__
        elif getter in {"get_object_value", "get_collection_of_object_values"}:
            item = self.visit(target)
        else:
            raise ValueError(f"unknown Kiota getter {getter}")
        return f"list[{item}]" if getter.startswith("get_collection") else item


HEADER = '''"""Graph {version}: strict PATCH models of {entities}. GENERATED: do not edit.

Written by tools/generate_models.py from {sdk} {sdk_version} (Kiota's models of Graph's {version} metadata).
Read-only and navigation properties are not fields: a body naming one is refused, and the message says why.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from worker.models.base import ABSENT, DateTimeOffset, GraphModel
from worker.models.edm import Binary, Date, Double, Duration, Guid, Int64, TimeOfDay, flags_of
'''


def render(closure: Closure, version: str, sdk: str) -> str:
    """The module's source, before `ruff format`."""
    entities = ", ".join(name for name, _ in ENTITIES)
    lines = [HEADER.format(version=version, entities=entities, sdk=sdk, sdk_version=metadata.version(sdk))]
    for name, values in sorted(closure.enums.items()):
        members = ", ".join(f'"{value}"' for value in values)
        kind = f"Annotated[str, flags_of({members})]" if name in closure.flags else f"Literal[{members}]"
        lines.append(f"{name} = {kind}\n")
    for name in closure.order:
        lines.append(render_model(closure.types[name]))
    return "\n".join(lines)


def render_model(graph_type: GraphType) -> str:
    """One model class."""
    name = graph_type.graph_name
    fields = [p for p in graph_type.props if p.annotation]
    body = [
        f"\n\nclass {graph_type.class_name}(GraphModel):",
        f'    """{name}."""\n',
    ]
    if not fields and not any(p.read_only or p.navigation for p in graph_type.props):
        body.append('    model_config = ConfigDict(extra="allow")  # declares no property: open, as Graph uses it')
    body.append(f'    odata_type_name: ClassVar[str] = "{name}"')
    if graph_type.root:  # directory objects also take extension_{appId}_{name} properties
        body.append("    directory_extensions: ClassVar[bool] = True")
    body.extend(_name_set("read_only", [p.json_name for p in graph_type.props if p.read_only]))
    body.extend(_name_set("navigation", [p.json_name for p in graph_type.props if p.navigation]))
    body.append(f'    odata_type: Literal["#{name}", "{name}"] = Field(default=ABSENT, alias="@odata.type")')
    body.extend(f'    {p.attr}: {p.annotation} | None = Field(default=None, alias="{p.json_name}")' for p in fields)
    return "\n".join(body)


def _name_set(attr: str, names: list[str]) -> list[str]:
    if not names:
        return []
    quoted = ", ".join(f'"{name}"' for name in sorted(names))
    return [f"    {attr}: ClassVar[frozenset[str]] = frozenset({{{quoted}}})"]


def generate(version: str, out_dir: Path = OUT_DIR) -> Path:
    """Write and format one version's module in `out_dir`; its path."""
    package, sdk, module = SDKS[version]
    closure = Introspector(package).run()
    path = out_dir / f"{module}.py"
    path.write_text(render(closure, version, sdk))
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(ROOT / "pyproject.toml"), "--quiet", str(path)]
    subprocess.run([*ruff, "check", "--fix", "--select", "F401,I", *config], check=True)  # noqa: S603 (unused imports)
    subprocess.run([*ruff, "format", *config], check=True)  # noqa: S603
    print(f"{path}: {len(closure.types)} models, {len(closure.enums)} enums")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", metavar="VERSION", help="v1.0 or beta (default: both)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where to write (default: %(default)s)")
    args = parser.parse_args()
    unknown = set(args.versions) - set(SDKS)
    if unknown:
        parser.error(f"unknown version(s) {sorted(unknown)}: choose from {sorted(SDKS)}")
    for version in args.versions or sorted(SDKS):
        generate(version, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
