#!/usr/bin/env bash
# Issue #8 acceptance 4 (Kubernetes part): the manifests in deploy/k8s are
# valid YAML (yamllint), valid against the Kubernetes API schema (Debian's
# python3-kubernetes models, tests/deploy/k8s_validate.py), hold what the
# deployment promises (probes, limits, non-root, read-only root FS, rules
# mounted as a whole ConfigMap), and the rules ConfigMap matches the shipped
# rule set. The validator must also catch a typo and a missing required field.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
k8s="$root/deploy/k8s"
py=/usr/bin/python3   # Debian's python, where python3-kubernetes and python3-yaml live
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}' \
  $(ls "$k8s"/*.yaml | grep -v configmap-rules.yaml) "$root/deploy/compose/compose.yaml"
# The generated rules ConfigMap holds JSON verbatim (long lines): syntax only.
yamllint -d relaxed "$k8s/configmap-rules.yaml" >/dev/null

manifests=$(ls "$k8s"/*.yaml | grep -v kustomization.yaml)
"$py" "$root/tests/deploy/k8s_validate.py" $manifests

# Negative checks: the validator is not a rubber stamp.
sed 's/readinessProbe:/readinessProbes:/' "$k8s/deployment.yaml" > "$tmp/typo.yaml"
if "$py" "$root/tests/deploy/k8s_validate.py" "$tmp/typo.yaml" > "$tmp/out" 2>&1; then
  fail "a misspelt field was accepted"; fi
grep -q "readinessProbes: unknown field" "$tmp/out" || fail "typo not named: $(cat "$tmp/out")"
sed 's/^  minReplicas: 2$/  minReplicas: "two"/' "$k8s/hpa.yaml" > "$tmp/type.yaml"
if "$py" "$root/tests/deploy/k8s_validate.py" "$tmp/type.yaml" >/dev/null 2>&1; then
  fail "a string where an int belongs was accepted"; fi
sed '/^    name: magcds$/d' "$k8s/hpa.yaml" > "$tmp/required.yaml"
if "$py" "$root/tests/deploy/k8s_validate.py" "$tmp/required.yaml" >/dev/null 2>&1; then
  fail "a missing required field (scaleTargetRef.name) was accepted"; fi

# What the deployment promises.
"$py" - "$k8s/deployment.yaml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
pod = d['spec']['template']['spec']
c = pod['containers'][0]
assert pod['securityContext']['runAsNonRoot'] is True
assert c['securityContext']['readOnlyRootFilesystem'] is True
assert c['securityContext']['allowPrivilegeEscalation'] is False
assert {'readinessProbe', 'livenessProbe', 'startupProbe'} <= set(c)
assert c['readinessProbe']['httpGet']['path'] == '/readyz'
assert c['livenessProbe']['httpGet']['path'] == '/healthz'
assert c['resources']['requests'] and c['resources']['limits']
rules = [m for m in c['volumeMounts'] if m['name'] == 'rules'][0]
assert 'subPath' not in rules, 'a subPath mount never sees ConfigMap updates'
assert [v for v in pod['volumes'] if v['name'] == 'rules'][0]['configMap']['name'] == 'magcds-rules'
# Issue #16: the replicas share the feedback store through a Secret-held
# connection string (never in the ConfigMap).
db = [v for v in pod['volumes'] if v['name'] == 'db'][0]
assert db['secret']['secretName'] == 'magcds-db'
assert any(m['name'] == 'db' and m['mountPath'] == '/etc/magcds/db' for m in c['volumeMounts'])
print('deployment: probes, limits, non-root, read-only root FS, whole-ConfigMap rules mount, db Secret')
PY
"$py" - "$k8s/configmap-config.yaml" "$k8s/secret-db.yaml" "$root/deploy/compose/compose.yaml" <<'PY'
import json, sys, yaml
config = json.loads(yaml.safe_load(open(sys.argv[1]))['data']['config.json'])
assert config['store']['engine'] == 'postgres'
assert config['store']['connectionFile'] == '/etc/magcds/db/connection'
assert 'connection' not in config['store'], 'the connection string belongs in the Secret'
secret = yaml.safe_load(open(sys.argv[2]))
assert secret['kind'] == 'Secret' and secret['metadata']['name'] == 'magcds-db'
compose = yaml.safe_load(open(sys.argv[3]))
assert compose['services']['db']['image'].startswith('postgres:')
assert compose['services']['magcds']['depends_on']['db']['condition'] == 'service_healthy'
print('feedback store: PostgreSQL in compose, connection string from a Secret in Kubernetes')
PY

# The committed rules ConfigMap is the shipped rule set.
bash "$k8s/make-rules-configmap.sh" > "$tmp/rules.yaml"
diff -q "$tmp/rules.yaml" "$k8s/configmap-rules.yaml" >/dev/null \
  || fail "deploy/k8s/configmap-rules.yaml is stale: run deploy/k8s/make-rules-configmap.sh"
echo "k8s manifests valid"
