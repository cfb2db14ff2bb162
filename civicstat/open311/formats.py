"""Answers in the two formats of GeoReport v2: JSON, and XML with the spec's element names."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from django.http import HttpResponse

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"

# The element name of one item of each list, as the spec's XML examples write them.
_ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "notes": "note",
    "endpoints": "endpoint",
    "formats": "format",
    "keywords": "keyword",
    "errors": "error",
}


# Characters XML 1.0 cannot carry; imported text may hold them, and they would break the document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item = _ITEM.get(element.tag, "item")
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, value)
    body: bytes = ET.tostring(element, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


_NESTED = (dict, list)


def _without_nulls(value: Any) -> Any:
    # By exact type, and scalars are not passed down: a page of 1,000 requests is 17,000 values.
    if type(value) is dict:
        return {k: _without_nulls(v) if type(v) in _NESTED else v
                for k, v in value.items() if v is not None}  # fmt: skip
    if type(value) is list:
        return [_without_nulls(v) if type(v) in _NESTED else v for v in value]
    return value


def respond(fmt: str, value: Any, *, root: str, status: int = 200) -> HttpResponse:
    """`value` as JSON, or as XML under `root` (a list's items named after the root).

    A None is what the city does not know: the official JSON schemas allow no null, so JSON
    leaves the key out; XML writes the element empty, as the spec's XML examples list every one.
    """
    if fmt == "xml":
        return HttpResponse(to_xml(root, value), content_type=XML_TYPE, status=status)
    body = json.dumps(_without_nulls(value), ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body.encode(), content_type=JSON_TYPE, status=status)


class Open311Error(Exception):
    """A request the spec answers with an error list: the HTTP status and what to do."""

    def __init__(
        self, status: int, description: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


def error_response(fmt: str, status: int, description: str) -> HttpResponse:
    return respond(fmt, [{"code": status, "description": description}], root="errors",
                   status=status)  # fmt: skip
