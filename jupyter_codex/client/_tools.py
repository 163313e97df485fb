"""Python functions as Codex dynamic tools: ``@tool`` and its JSON Schema.

The name is the function's, the description its docstring (without the
``Args:`` section), the input schema comes from the type hints through a
pydantic model (nested models, ``Optional``, ``Enum``, ``Literal`` …), and each
argument's description from the docstring's ``Args:`` (Google), ``Parameters``
(NumPy) or ``:param x:`` (Sphinx) entries.

Why this module is long: the schema builder, the three docstring dialects and the
call runner that validates arguments against that schema belong together.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import functools
import inspect
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ._progress import carry

F = TypeVar("F", bound=Callable[..., Any])

#: Where a tool's function is called: given the call (no arguments), await its result
#: (which may itself be awaitable, for an ``async def`` function).
CallRunner = Callable[[Callable[[], Any]], Awaitable[Any]]

log = logging.getLogger("jupyter_codex.kernel")

#: What codex accepts as a tool name (no dots: those separate namespaces).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns?|Raises|"
    r"Yields?|Examples?|Notes?|See Also|Attributes)\s*:?\s*$"
)


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """``(description, {argument: description})`` from a Google, NumPy or Sphinx docstring."""
    text = inspect.cleandoc(doc or "")
    lines = text.splitlines()
    description: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent: int | None = None
    for i, line in enumerate(lines):
        sphinx = re.match(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$", line)
        if sphinx:
            section, current = "args", sphinx.group(1)
            args[current] = sphinx.group(2).strip()
            continue
        if re.match(r"^\s*:(returns?|rtype|raises?|type)\b", line):
            section, current = "other", None
            continue
        header = _SECTION.match(line)
        underline = i + 1 < len(lines) and re.match(r"^\s*-{3,}\s*$", lines[i + 1])
        if header and (line.rstrip().endswith(":") or underline):
            kind = header.group(1).lower()
            section = "args" if kind.startswith(("arg", "param", "keyword")) else "other"
            current, entry_indent = None, None
            continue
        if re.match(r"^\s*-{3,}\s*$", line):
            continue
        if section is None:
            description.append(line)
        elif section == "args" and line.strip():
            indent = len(line) - len(line.lstrip())
            numpy_entry = re.match(r"^\*{0,2}(\w+)\b", line) if indent == 0 else None
            entry = re.match(r"^\s*\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$", line)
            if numpy_entry:
                current, entry_indent = numpy_entry.group(1), 0
                args[current] = ""
            elif entry and (entry_indent is None or indent <= entry_indent):
                current, entry_indent = entry.group(1), indent
                args[current] = entry.group(3).strip()
            elif current:
                args[current] = (args[current] + " " + line.strip()).strip()
    return "\n".join(description).strip(), args


def parse_returns(doc: str | None) -> str:
    """The text of a docstring's ``Returns:`` (Google), ``Returns`` (NumPy) or
    ``:returns:`` (Sphinx) section, on one line."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out: list[str] = []
    inside = False
    for i, line in enumerate(lines):
        sphinx = re.match(r"^\s*:returns?:\s*(.*)$", line)
        if sphinx:
            out.append(sphinx.group(1).strip())
            inside = True
            continue
        header = _SECTION.match(line)
        underline = i + 1 < len(lines) and re.match(r"^\s*-{3,}\s*$", lines[i + 1])
        if header and (line.rstrip().endswith(":") or underline):
            inside = header.group(1).lower() in ("return", "returns")
            continue
        if re.match(r"^\s*(-{3,}|:\w+)", line):
            inside = inside and line.strip().startswith("-")
            continue
        if inside and line.strip():
            out.append(line.strip())
    return " ".join(out).strip()


def type_name(annotation: Any) -> str:
    """A short, readable name of a type for the model (``list[Ticket]``, ``int | None``),
    followed by the fields of the pydantic models and dataclasses it mentions."""
    records: list[str] = []
    seen: set[type] = set()

    def collect(node: Any) -> None:
        if isinstance(node, type) and node not in seen:
            fields = _fields(node)
            if fields is not None:
                seen.add(node)
                records.append(f"{node.__name__} = {{{fields}}}")
        for arg in getattr(node, "__args__", ()) or ():
            collect(arg)

    collect(annotation)
    name = _short(annotation)
    return f"{name}, where {'; '.join(records)}" if records else name


def _fields(cls: type) -> str | None:
    """``a: int, b: str | None`` of a pydantic model or dataclass (else ``None``)."""
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict) and model_fields:
        return ", ".join(f"{n}: {_short(f.annotation)}" for n, f in model_fields.items())
    dataclass_fields = getattr(cls, "__dataclass_fields__", None)
    if isinstance(dataclass_fields, dict) and dataclass_fields:
        hints = _type_hints(cls, None)
        return ", ".join(f"{n}: {_short(hints.get(n, Any))}" for n in dataclass_fields)
    return None


def _short(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    text = str(annotation).replace("typing.", "").replace("NoneType", "None")
    return re.sub(r"\b[\w]+\.(?=[A-Za-z_])", "", text)


#: Return types whose hint says nothing the model does not assume already.
_PLAIN_RETURNS = (str, Any, None, type(None), inspect.Signature.empty)


def output_hint(fn: Callable[..., Any], localns: dict[str, Any] | None = None) -> str:
    """``Returns: <type>: <docstring's Returns text>`` for the description the model
    reads, from the return annotation and the ``Returns:`` section (empty if neither says
    anything: a plain ``str`` result needs no hint)."""
    annotation: Any = inspect.Signature.empty
    with contextlib.suppress(Exception):
        annotation = get_type_hints(fn, localns=localns).get("return", inspect.Signature.empty)
    if annotation is inspect.Signature.empty:
        raw = inspect.signature(fn).return_annotation
        annotation = raw if not isinstance(raw, str) else inspect.Signature.empty
        if isinstance(raw, str) and raw not in ("str", "None", "Any"):
            annotation = raw
    text = parse_returns(inspect.getdoc(fn))
    kind = (
        ""
        if any(annotation is p for p in _PLAIN_RETURNS)
        else (annotation if isinstance(annotation, str) else type_name(annotation))
    )
    if kind and kind != "str" and text:
        return f"Returns: {kind} (as JSON text): {text}"
    if kind and kind != "str":
        return f"Returns: {kind} (as JSON text)."
    return f"Returns: {text}" if text else ""


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace ``$ref``s by their definitions (kept as ``$defs`` if recursive),
    and drop pydantic's auto-generated ``title``s: the model reads less."""
    defs = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(n, seen) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                raise RecursionError(name)
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return {**resolve(copy.deepcopy(defs[name]), (*seen, name)), **extra}
        out = {}
        for key, value in node.items():
            if key in ("$defs", "title"):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: resolve(v, seen) for name, v in value.items()}
            else:
                out[key] = resolve(value, seen)
        return out

    try:
        result: dict[str, Any] = resolve(schema, ())
    except RecursionError:
        return schema
    return result


class Tool:
    """A Python function the model may call during a turn.

    Calling the tool object calls the function, so decorating does not change
    how the function is used in ordinary code.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        localns: dict[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", ""))
        if not NAME_PATTERN.match(self.name):
            raise ValueError(
                f"{self.name!r} is not a valid tool name: use 1-64 letters, digits, '_' or '-'."
            )
        doc_description, arg_docs = parse_docstring(inspect.getdoc(fn))
        self.description = (description or doc_description or self.name).strip()
        #: What the function returns, for the model (appended to the description).
        self.output_hint = output_hint(fn, localns)
        if self.output_hint:
            self.description += "\n\n" + self.output_hint
        self.arguments_model = self._arguments_model(arg_docs, localns)
        self.input_schema = _inline_refs(self.arguments_model.model_json_schema())
        self.input_schema.setdefault("properties", {})
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        #: Calls the function during :meth:`invoke`; ``None``: a sync function runs on a
        #: worker thread, an async one on the loop that serves the call.
        self.runner: CallRunner | None = None

    def running_with(self, runner: CallRunner) -> Tool:
        """A copy of this tool whose function is called through ``runner`` (e.g. on a
        kernel's main thread, in the context of the running cell)."""
        twin = copy.copy(self)
        twin.runner = runner
        return twin

    def _arguments_model(
        self, arg_docs: dict[str, str], localns: dict[str, Any] | None
    ) -> type[BaseModel]:
        signature = inspect.signature(self.fn)
        hints = _type_hints(self.fn, localns)
        fields: dict[str, Any] = {}
        self._positional: list[str] = []
        for param in signature.parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.kind is param.POSITIONAL_ONLY:
                self._positional.append(param.name)
            annotation = hints.get(param.name, Any)
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (
                annotation,
                Field(default=default, description=arg_docs.get(param.name) or None),
            )
        model: type[BaseModel] = create_model(
            f"{self.name}_arguments",
            __config__=ConfigDict(extra="ignore", arbitrary_types_allowed=False),
            **fields,
        )
        return model

    def spec(self) -> dict[str, Any]:
        """The declaration sent to the server (``POST sessions`` ``tools``)."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
        }

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.name!r}>"

    async def invoke(self, arguments: Any) -> tuple[bool, list[dict[str, Any]]]:
        """Validate the model's arguments, run the function (a sync one on a worker
        thread), and return ``(success, content_items)``. Never raises: a bad
        argument or an exception becomes an error result the model can read."""
        if isinstance(arguments, str):
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments or "{}")
        try:
            validated = self.arguments_model.model_validate(arguments or {})
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
                for err in e.errors(include_url=False)
            )
            return False, [_text(f"Invalid arguments for {self.name}: {problems}")]
        values = {name: getattr(validated, name) for name in type(validated).model_fields}
        args = [values.pop(name) for name in self._positional]
        call = functools.partial(self.fn, *args, **values)
        try:
            if self.runner is not None:  # elsewhere (a kernel's main thread, a cell's context)
                result = await self.runner(carry(call))
            elif inspect.iscoroutinefunction(self.fn):
                result = await call()
            else:
                result = await asyncio.to_thread(call)
            if inspect.isawaitable(result):
                result = await result
        except Exception as e:  # noqa: BLE001 - the model gets the error, the turn goes on
            return False, [_text(f"{type(e).__name__}: {e}")]
        return True, to_content_items(result)


def _type_hints(fn: Callable[..., Any], localns: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters' types; string annotations are resolved in the function's module
    and the namespace that applied ``@tool`` (a class defined in a function)."""
    with contextlib.suppress(Exception):  # else resolve what we can, one parameter at a time
        return get_type_hints(fn, localns=localns, include_extras=True)
    hints: dict[str, Any] = {}
    namespace = {**getattr(fn, "__globals__", {}), **(localns or {})}
    for param in inspect.signature(fn).parameters.values():
        annotation = param.annotation
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)  # the user's own annotation
            except Exception:  # noqa: BLE001 - any failure: fall back to Any
                log.warning("Cannot resolve the type %r of %s; using Any", annotation, param.name)
                annotation = Any
        if annotation is not param.empty:
            hints[param.name] = annotation
    return hints


def _text(text: str) -> dict[str, Any]:
    return {"type": "inputText", "text": text}


def to_content_items(value: Any) -> list[dict[str, Any]]:
    """A return value as app-server content items: text, JSON, or an image
    (objects with ``_repr_png_`` / ``_repr_jpeg_``, e.g. ``IPython.display.Image``)."""
    if isinstance(value, str):
        return [_text(value)]
    for method, mime in (("_repr_png_", "image/png"), ("_repr_jpeg_", "image/jpeg")):
        render = getattr(value, method, None)
        if callable(render) and not isinstance(value, type):
            data = render()
            if isinstance(data, tuple):
                data = data[0]
            if isinstance(data, str):
                data = data.encode("ascii")
            if isinstance(data, bytes) and data:
                url = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
                return [{"type": "inputImage", "imageUrl": url}]
    if isinstance(value, BaseModel):
        return [_text(value.model_dump_json())]
    try:
        return [_text(json.dumps(value, default=_jsonable))]
    except (TypeError, ValueError):
        return [_text(repr(value))]


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "value") and hasattr(value, "name"):  # Enum members
        return value.value
    return str(value)


@overload
def tool(fn: F, /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function into a tool: ``@tool`` or ``@tool(name=..., description=...)``."""
    if fn is not None:
        return Tool(fn, name=name, description=description, localns=sys._getframe(1).f_locals)

    def decorate(f: Callable[..., Any]) -> Tool:
        localns = sys._getframe(1).f_locals
        return Tool(f, name=name, description=description, localns=localns)

    return decorate


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A :class:`Tool` from a tool or a plain function."""
    return obj if isinstance(obj, Tool) else Tool(obj)


__all__ = [
    "CallRunner",
    "Tool",
    "as_tool",
    "output_hint",
    "parse_docstring",
    "parse_returns",
    "to_content_items",
    "tool",
]
