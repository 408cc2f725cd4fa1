"""Check that every example in an OpenAPI 3.1 document is valid against its schema.

openapi-spec-validator checks the document's structure but not its examples, and the
examples are what docs/api.md, the API reference, shows. Run with the schemathesis virtualenv,
which has jsonschema, referencing and PyYAML:

    .venv/schemathesis/bin/python infra/check_openapi_examples.py infra/openapi.yaml
"""

import sys

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:wagate:openapi"


def resolve(doc, node):
    """Follow a Reference Object (a parameter's or a response's $ref) to what it points at."""
    while "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def examples(doc):
    """Yield (where, schema, example) for every example in the document."""
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters":
                continue
            route = f"{method.upper()} {path}"
            for param in shared + op.get("parameters", []):
                param = resolve(doc, param)
                if "example" in param:
                    yield f"{route} parameter {param['name']}", param["schema"], param["example"]
            for media in op.get("requestBody", {}).get("content", {}).values():
                if "example" in media:
                    yield f"{route} request body", media["schema"], media["example"]
            for status, response in op["responses"].items():
                for media in resolve(doc, response).get("content", {}).values():
                    if "example" in media:
                        yield f"{route} {status}", media["schema"], media["example"]
    for name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            yield f"components.schemas.{name}", {"$ref": f"#/components/schemas/{name}"}, example


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    problems = checked = 0
    for where, schema, example in examples(doc):
        checked += 1
        # The schema is checked in place within the document, so its $refs resolve there.
        contents = dict(doc, **{"x-checked": schema})
        registry = Registry().with_resource(SPEC_URI, Resource.from_contents(contents, default_specification=DRAFT202012))
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{SPEC_URI}#/x-checked"},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        for error in validator.iter_errors(example):
            problems += 1
            # Within a oneOf, name the alternative's own error rather than "not valid under any".
            error = jsonschema.exceptions.best_match([error])
            at = "/".join(str(p) for p in error.absolute_path) or "(the example)"
            print(f"{path}: {where}: {at}: {error.message}", file=sys.stderr)
    print(f"{path}: {checked} examples checked, {problems} problems")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OPENAPI.yaml")
    sys.exit(main(sys.argv[1]))
