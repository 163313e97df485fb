"""@tool: names, descriptions and JSON Schemas from type hints and docstrings; invocation."""

from __future__ import annotations

import asyncio
import enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel, Field

from jupyter_codex.client._tools import parse_docstring, to_content_items
from jupyter_codex.kernel import Tool, tool


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Address(BaseModel):
    street: str
    city: str = Field(description="City name")


class Customer(BaseModel):
    name: str
    addresses: list[Address]
    vip: bool = False


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_nested_models_optional_enum_and_literal_become_one_inline_schema() -> None:
    @tool
    def register(
        customer: Customer,
        priority: Priority = Priority.LOW,
        note: Optional[str] = None,  # noqa: UP045 - Optional is what users write
        channel: Literal["mail", "phone"] = "mail",
        count: int | None = None,
    ) -> str:
        """Register a customer.

        The customer is stored for later.

        Args:
            customer: who to register
            priority: how urgent it is; high
                jumps the queue.
            note: free text
        """
        return "ok"

    assert isinstance(register, Tool) and register.name == "register"
    assert register.description == "Register a customer.\n\nThe customer is stored for later."
    schema = register.input_schema
    assert schema["type"] == "object" and schema["required"] == ["customer"]
    assert "$defs" not in schema and "title" not in schema
    props = schema["properties"]
    customer = props["customer"]
    assert customer["description"] == "who to register"
    assert customer["required"] == ["name", "addresses"]
    address = customer["properties"]["addresses"]["items"]
    assert address["properties"]["city"] == {"type": "string", "description": "City name"}
    assert props["priority"]["enum"] == ["low", "high"] and props["priority"]["default"] == "low"
    assert props["priority"]["description"] == "how urgent it is; high jumps the queue."
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["note"]["description"] == "free text"
    assert props["channel"]["enum"] == ["mail", "phone"]
    assert {"type": "null"} in props["count"]["anyOf"] and "description" not in props["count"]
    assert register.spec() == {
        "name": "register",
        "description": register.description,
        "input_schema": schema,
    }
    # Decorating leaves the function usable as before.
    assert register(Customer(name="a", addresses=[])) == "ok"


def test_recursive_models_keep_their_definitions() -> None:
    class Node(BaseModel):
        value: int
        children: list[Node] = []

    Node.model_rebuild()

    @tool
    def walk(tree: Node) -> int:
        """Sum a tree."""
        return tree.value

    assert "$defs" in walk.input_schema and "Node" in walk.input_schema["$defs"]


def test_docstring_styles() -> None:
    google = parse_docstring(
        "Do it.\n\nArgs:\n    x (int): the x\n    y: the y\n\nReturns:\n    z\n"
    )
    numpy = parse_docstring(
        "Do it.\n\nParameters\n----------\nx : int\n    the x\ny : str\n    the y\n"
    )
    sphinx = parse_docstring("Do it.\n\n:param x: the x\n:param str y: the y\n:returns: z\n")
    for description, args in (google, numpy, sphinx):
        assert description == "Do it."
        assert args == {"x": "the x", "y": "the y"}


def test_name_and_description_overrides_and_bad_names() -> None:
    @tool(name="lookup-ticket", description="Fetch a ticket.")
    def lookup(ticket_id: str) -> str:
        return ticket_id

    assert lookup.name == "lookup-ticket" and lookup.description == "Fetch a ticket."
    with pytest.raises(ValueError, match="not a valid tool name"):
        tool(name="has.dot")(lookup.fn)


def test_invoke_validates_and_converts_arguments() -> None:
    seen: list[object] = []

    @tool
    def order(customer: Customer, priority: Priority, /, quantity: int = 1) -> dict[str, object]:
        """Order."""
        seen.append((customer, priority, quantity))
        return {"ok": True, "priority": priority}

    ok, items = run(
        order.invoke(
            {
                "customer": {"name": "Ann", "addresses": [{"street": "Main", "city": "X"}]},
                "priority": "high",
                "quantity": "3",
            }
        )
    )
    assert ok and items == [{"type": "inputText", "text": '{"ok": true, "priority": "high"}'}]
    customer, priority, quantity = seen[0]  # type: ignore[misc]
    assert isinstance(customer, Customer) and customer.addresses[0].city == "X"
    assert priority is Priority.HIGH and quantity == 3

    ok, items = run(order.invoke('{"customer": {"name": "Ann"}, "priority": "urgent"}'))
    assert not ok
    text = items[0]["text"]
    assert text.startswith("Invalid arguments for order:")
    assert "customer.addresses" in text and "priority" in text


def test_exceptions_become_error_results_and_async_functions_are_awaited() -> None:
    @tool
    async def divide(a: float, b: float) -> float:
        """Divide."""
        await asyncio.sleep(0)
        return a / b

    assert run(divide.invoke({"a": 1, "b": 4})) == (True, [{"type": "inputText", "text": "0.25"}])
    ok, items = run(divide.invoke({"a": 1, "b": 0}))
    assert not ok and items[0]["text"] == "ZeroDivisionError: float division by zero"


def test_return_values_become_content_items() -> None:
    class Png:
        def _repr_png_(self) -> bytes:
            return b"\x89PNG"

    assert to_content_items("plain") == [{"type": "inputText", "text": "plain"}]
    assert to_content_items(None) == [{"type": "inputText", "text": "null"}]
    assert to_content_items(Address(street="a", city="b")) == [
        {"type": "inputText", "text": '{"street":"a","city":"b"}'}
    ]
    assert to_content_items(Png()) == [
        {"type": "inputImage", "imageUrl": "data:image/png;base64,iVBORw=="}
    ]
