#!/usr/bin/python3
"""Schema validation of Kubernetes manifests, offline, with Debian's tools only.

The Kubernetes API types come from Debian's python3-kubernetes (22.6: the
generated models of the Kubernetes 1.22 OpenAPI schema; each model lists its
fields with their types in `openapi_types` / `attribute_map`, and its
constructor rejects a missing required field or an invalid enum value). For
every document in the given YAML files this checks:
  - apiVersion/kind is a known API type (autoscaling/v2 is checked against
    v2beta2, whose schema it kept: the 22.x client predates v2's GA in 1.23);
  - every field name exists in the schema (a typo such as `readinessProbes`
    or `runAsNonroot` is an error, where kubectl would silently drop it);
  - every value has the schema's type (str, int, bool, list, map, object);
  - required fields are present (the models' own validation).
usage: k8s_validate.py FILE.yaml...   exit 0 when every document is valid.
"""
import re
import sys

import yaml
from kubernetes import client

# apiVersion -> model class prefix.
VERSIONS = {
    'v1': 'V1', 'apps/v1': 'V1', 'policy/v1': 'V1', 'networking.k8s.io/v1': 'V1',
    'autoscaling/v1': 'V1', 'autoscaling/v2': 'V2beta2', 'batch/v1': 'V1',
    'rbac.authorization.k8s.io/v1': 'V1',
}
PRIMITIVES = {'str': str, 'int': int, 'bool': bool, 'float': (int, float)}


def model(name):
    return getattr(client, name, None) or getattr(client.models, name, None)


def check(value, type_name, path, errors):
    if value is None:
        return
    if type_name == 'object':
        return
    if type_name in PRIMITIVES:
        ok = isinstance(value, PRIMITIVES[type_name]) and not (
            type_name in ('int', 'float') and isinstance(value, bool))
        if not ok:
            errors.append(f'{path}: expected {type_name}, got {type(value).__name__} {value!r}')
        return
    if type_name == 'datetime':
        return
    match = re.fullmatch(r'list\[(.+)\]', type_name)
    if match:
        if not isinstance(value, list):
            errors.append(f'{path}: expected a list')
            return
        for i, item in enumerate(value):
            check(item, match.group(1), f'{path}[{i}]', errors)
        return
    match = re.fullmatch(r'dict\(str, (.+)\)', type_name)
    if match:
        if not isinstance(value, dict):
            errors.append(f'{path}: expected a map')
            return
        for key, item in value.items():
            check(item, match.group(1), f'{path}.{key}', errors)
        return
    cls = model(type_name)
    if cls is None:
        errors.append(f'{path}: unknown schema type {type_name}')
        return
    if not isinstance(value, dict):
        errors.append(f'{path}: expected an object ({type_name})')
        return
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            errors.append(f'{path}.{key}: unknown field for {type_name}')
            continue
        check(item, cls.openapi_types[by_json[key]], f'{path}.{key}', errors)


def validate(document, where):
    errors = []
    if not isinstance(document, dict):
        return [f'{where}: not a mapping']
    api_version, kind = document.get('apiVersion'), document.get('kind')
    prefix = VERSIONS.get(api_version)
    type_name = f'{prefix}{kind}' if prefix else None
    if type_name is None or model(type_name) is None:
        return [f'{where}: unknown apiVersion/kind {api_version}/{kind}']
    check(document, type_name, f'{where} {kind}', errors)
    if not errors:
        try:  # required fields and enums, as the API client would check them
            client.ApiClient()._ApiClient__deserialize(document, type_name)
        except (ValueError, TypeError) as e:
            errors.append(f'{where} {kind}: {e}')
    return errors


def main(files):
    errors, count = [], 0
    for file in files:
        with open(file, encoding='utf-8') as f:
            for i, document in enumerate(yaml.safe_load_all(f)):
                if document is None:
                    continue
                count += 1
                name = (document.get('metadata') or {}).get('name', '?')
                errors += validate(document, f'{file}#{i} ({name})')
    for error in errors:
        print(f'INVALID {error}')
    print(f'{count} manifests checked, {len(errors)} problems')
    return 1 if errors or count == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
