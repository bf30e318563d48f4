#!/usr/bin/python3
"""Offline consistency check of the Kubernetes manifests in deploy/k8s.

What it is: a structural and cross-reference check written for this repository, not a Kubernetes API validation.
It parses every manifest with PyYAML and checks, against the code and the service READMEs:

  * every file is listed in kustomization.yaml and every document has a known apiVersion/kind pair (core, apps,
    Strimzi kafka.strimzi.io/v1beta2, KEDA keda.sh/v1alpha1) and a metadata.name;
  * the Strimzi Kafka runs in KRaft mode with node pools (annotations, a controller and a broker pool);
  * every topic in libs/pipeline/.../Topics.java (and the profile topics of every profiler Deployment) has a
    KafkaTopic with the same partitions, replication 3, min.insync.replicas 2, the code's retention, and the
    status topic compacted;
  * every Deployment has requests/limits, readiness and liveness probes on Quarkus' /q/health/ready and
    /q/health/live, a preStop hook, a termination grace period longer than preStop + the worker's shutdown grace,
    Kafka bootstrap and S3 settings from the quantflow-s3 Secret (with the keys present) and the KafkaUser secret;
  * every LLM pool Deployment (env QUANTFLOW_LLM_METHOD, app services/quantizer-llm) runs a weight-only method of
    libs/pipeline/.../QuantMethod.java under that method's pool name, its README row names the method's topic, and
    every such method has a Deployment;
  * every service folder with a README has a Deployment, and every worker pool a KEDA ScaledObject with a kafka trigger whose consumerGroup and topic are the ones the
    service's README names, and maxReplicaCount <= partitions;
  * every service's KafkaUser has ACLs for its group and for each topic its README says it consumes, reads or
    produces (plus the status and failure topics every stage worker writes), and no Write on a topic the README
    does not name.

It does not check field names against the real OpenAPI/CRD schemas (no schemas and no network here): a typo in a
field this script does not look at passes. `kubectl kustomize deploy/k8s` checks that the kustomization renders;
on a cluster, `kubectl apply -k deploy/k8s --dry-run=server` validates against the installed CRDs.

Usage: /usr/bin/python3 deploy/k8s/check.py [--self-test]
  --self-test also breaks a copy of the manifests in known ways and fails unless each break is reported.
"""
import copy
import glob
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TOPICS_JAVA = os.path.join(ROOT, "libs/pipeline/src/main/java/dev/quantflow/pipeline/Topics.java")
QUANT_METHOD_JAVA = os.path.join(ROOT, "libs/pipeline/src/main/java/dev/quantflow/pipeline/QuantMethod.java")
LLM_APP = "quantizer-llm"
BINDINGS_JAVA = os.path.join(ROOT, "libs/pipeline/src/main/java/dev/quantflow/pipeline/kafka/Bindings.java")

KNOWN_KINDS = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "Service"), ("v1", "Secret"), ("v1", "ConfigMap"),
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("kafka.strimzi.io/v1beta2", "Kafka"), ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"), ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication"),
}
STAGE_WORKER_WRITES = ["quantflow.jobs.status", "quantflow.jobs.failed", "quantflow.dlq"]
PRESTOP_SECONDS_MAX = 60


# ------------------------------------------------------------------------------------------------ sources of truth

def java_topics():
    """Topic name -> (partitions, config dict) from Topics.java, plus the two profile constants."""
    src = open(TOPICS_JAVA).read()
    ints = {m.group(1): int(m.group(2)) for m in re.finditer(r"static final int (\w+)\s*=\s*(\d+);", src)}
    maps = {}
    for m in re.finditer(r"static final Map<String, String> (\w+)\s*=\s*Map\.of\((.*?)\);", src, re.S):
        maps[m.group(1)] = parse_map_of(m.group(2))
    strings = {m.group(1): m.group(2) for m in re.finditer(r'static final String (\w+)\s*=\s*"([^"]*)";', src)}
    topics = {}
    for m in re.finditer(r'new Topic<>\(\s*"?([\w.-]+)"?,\s*\w+\.class,\s*(\w+),\s*(\w+|Map\.of\((?:[^()]|\([^()]*\))*\))\s*\)', src, re.S):
        name, parts, cfg = strings.get(m.group(1), m.group(1)), m.group(2), m.group(3)
        partitions = ints[parts] if parts in ints else int(parts)
        config = maps[cfg] if cfg in maps else parse_map_of(cfg[len("Map.of("):-1])
        topics[name] = (partitions, config)
    prefix = re.search(r'PROFILE_REQUESTED_PREFIX\s*=\s*"([^"]+)"', src).group(1)
    completed = re.search(r'PROFILES_COMPLETED\s*=\s*"([^"]+)"', src).group(1)
    return topics, prefix, completed


def llm_methods():
    """Wire name -> (topic name, pool) of the LLM weight-only methods in QuantMethod.java."""
    topics_src = open(TOPICS_JAVA).read()
    constants = {m.group(1): m.group(2) for m in
                 re.finditer(r'static final Topic<\w+> (\w+)\s*=\s*new Topic<>\(\s*"([^"]+)"', topics_src)}
    methods = {}
    for m in re.finditer(r'\b[A-Z0-9_]+\("(\w+)",\s*Family\.(\w+),\s*Topics\.(\w+),\s*"([^"]+)"', open(QUANT_METHOD_JAVA).read()):
        wire, family, topic, pool = m.groups()
        if family == "LLM_WEIGHT_ONLY":
            methods[wire] = (constants[topic], pool)
    return methods


def parse_map_of(args):
    """Map.of("k", "v", "k2", String.valueOf(7L * 24 * 3600 * 1000)) -> dict of strings."""
    items = []
    parts = re.findall(r'("([^"]*)"|String\.valueOf\(([^)]*)\))', args)
    for whole, literal, expr in parts:
        if whole.startswith('"'):
            items.append(literal)
        else:
            items.append(str(eval(expr.replace("L", ""), {"__builtins__": {}})))
    return dict(zip(items[0::2], items[1::2]))


def readme_channels(service_dir, quantize_topics, hardware_class=None, pool=None):
    """(groups, consumed, read, produced) from the channel table of a service README; groups in table order.

    pool: for an app run as several pools (quantizer-llm), only the rows of that pool's group and the rows without
    a group (what every pool produces)."""
    text = open(os.path.join(ROOT, "services", service_dir, "README.md")).read()
    groups, consumed, read, produced = [], set(), set(), set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.startswith("|"):
            continue
        topics = re.findall(r"`(quantflow\.[^`]+)`", cells[1])
        if not topics:
            continue
        expanded = []
        for t in topics:
            if "<method>" in t:
                expanded += quantize_topics
            elif "<hardware-class>" in t:
                expanded.append(t.replace("<hardware-class>", hardware_class))
            elif t.endswith("<class>"):
                expanded.append(t[: -len("<class>")] + "*")  # a prefix: one topic per hardware class
            else:
                expanded.append(t)
        direction = cells[3]
        g = re.search(r"group `([^`]+)`", direction)
        if pool and g and g.group(1) != pool:
            continue
        if g:
            groups.append(g.group(1).replace("<hardware-class>", hardware_class or ""))
        if "consumed" in direction:
            consumed.update(expanded)
        elif direction.startswith("read") or "read (" in direction:
            read.update(expanded)
        if "produced" in direction:
            produced.update(expanded)
    return groups, consumed, read, produced


# ------------------------------------------------------------------------------------------------ loading

def load():
    kust = yaml.safe_load(open(os.path.join(HERE, "kustomization.yaml")))
    docs = []
    for res in kust["resources"]:
        for d in yaml.safe_load_all(open(os.path.join(HERE, res))):
            if d is not None:
                docs.append((res, d))
    return kust, docs


def by_kind(docs, kind):
    return [d for _, d in docs if d.get("kind") == kind]


# ------------------------------------------------------------------------------------------------ checks

def check(kust, docs):
    errors = []
    err = errors.append
    listed = set(kust["resources"])
    for f in glob.glob(os.path.join(HERE, "**", "*.yaml"), recursive=True):
        rel = os.path.relpath(f, HERE)
        if rel != "kustomization.yaml" and rel not in listed:
            err(f"{rel} is not listed in kustomization.yaml")
    for src, d in docs:
        if (d.get("apiVersion"), d.get("kind")) not in KNOWN_KINDS:
            err(f"{src}: unknown apiVersion/kind {d.get('apiVersion')}/{d.get('kind')}")
        if not d.get("metadata", {}).get("name"):
            err(f"{src}: {d.get('kind')} without metadata.name")

    # Kafka in KRaft mode with node pools
    kafkas = by_kind(docs, "Kafka")
    if len(kafkas) != 1:
        err(f"expected one Kafka, found {len(kafkas)}")
    else:
        k = kafkas[0]
        ann = k["metadata"].get("annotations", {})
        if ann.get("strimzi.io/kraft") != "enabled" or ann.get("strimzi.io/node-pools") != "enabled":
            err("Kafka lacks strimzi.io/kraft and strimzi.io/node-pools = enabled")
        if k["spec"]["kafka"].get("authorization", {}).get("type") != "simple":
            err("Kafka has no simple authorization: KafkaUser ACLs would not be enforced")
        auths = [l.get("authentication", {}).get("type") for l in k["spec"]["kafka"]["listeners"]]
        if not all(a in ("tls", "scram-sha-512") for a in auths):
            err(f"a Kafka listener has no TLS/SCRAM authentication: {auths}")
        cluster = k["metadata"]["name"]
        roles = set()
        for pool in by_kind(docs, "KafkaNodePool"):
            if pool["metadata"].get("labels", {}).get("strimzi.io/cluster") != cluster:
                err(f"KafkaNodePool {pool['metadata']['name']} is not labelled for cluster {cluster}")
            roles.update(pool["spec"]["roles"])
        if roles != {"controller", "broker"}:
            err(f"node pools must provide controller and broker roles, have {sorted(roles)}")

    # Topics
    code_topics, profile_prefix, profiles_completed = java_topics()
    kafka_topics = {t["spec"]["topicName"]: t for t in by_kind(docs, "KafkaTopic")}
    deployments = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    expected = dict(code_topics)
    work_partitions, work_config = code_topics["quantflow.requests"]
    profiler_classes = {}
    for name, dep in deployments.items():
        env = env_of(dep)
        if "QUANTFLOW_PROFILER_HARDWARE_CLASS" in env:
            hc = env["QUANTFLOW_PROFILER_HARDWARE_CLASS"]["value"]
            profiler_classes[name] = hc
            expected[profile_prefix + hc] = (work_partitions, work_config)
    if profiler_classes:
        expected[profiles_completed] = (work_partitions, work_config)
    for name, (partitions, config) in expected.items():
        t = kafka_topics.get(name)
        if t is None:
            err(f"topic {name} has no KafkaTopic")
            continue
        spec = t["spec"]
        if spec.get("partitions") != partitions:
            err(f"KafkaTopic {name}: {spec.get('partitions')} partitions, code says {partitions}")
        if spec.get("replicas") != 3:
            err(f"KafkaTopic {name}: replicas {spec.get('replicas')}, want 3")
        cfg = {k: str(v) for k, v in spec.get("config", {}).items()}
        if cfg.get("min.insync.replicas") != "2":
            err(f"KafkaTopic {name}: min.insync.replicas {cfg.get('min.insync.replicas')}, want 2")
        for k, v in config.items():
            if cfg.get(k) != v:
                err(f"KafkaTopic {name}: {k}={cfg.get(k)}, code says {v}")
    for name in kafka_topics:
        if name not in expected:
            err(f"KafkaTopic {name} is in no registry (Topics.java or a profiler class)")

    # Deployments
    secrets = {s["metadata"]["name"]: s for s in by_kind(docs, "Secret")}
    users = {u["metadata"]["name"]: u for u in by_kind(docs, "KafkaUser")}
    for name, dep in deployments.items():
        spec = dep["spec"]
        tmpl = spec["template"]
        if any(tmpl["metadata"]["labels"].get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
            err(f"Deployment {name}: selector does not match the pod labels")
        pod = tmpl["spec"]
        for c in pod["containers"]:
            where = f"Deployment {name}/{c['name']}"
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for r in ("cpu", "memory") if part == "requests" else ("memory",):
                    if r not in res.get(part, {}):
                        err(f"{where}: no {part}.{r}")
            for probe, path in (("readinessProbe", "/q/health/ready"), ("livenessProbe", "/q/health/live")):
                got = c.get(probe, {}).get("httpGet", {}).get("path")
                if got != path:
                    err(f"{where}: {probe} path {got}, want {path}")
            pre = c.get("lifecycle", {}).get("preStop")
            if not pre:
                err(f"{where}: no preStop hook")
                pre_s = 0
            else:
                cmd = pre.get("exec", {}).get("command", [])
                pre_s = int(cmd[1]) if len(cmd) == 2 and cmd[0] == "sleep" else pre.get("sleep", {}).get("seconds", 0)
                if pre_s > PRESTOP_SECONDS_MAX:
                    err(f"{where}: preStop of {pre_s} s")
            env = env_of(dep)
            grace = parse_seconds(env.get("QUANTFLOW_WORKER_SHUTDOWN_GRACE", {}).get("value", "60s"))
            tgp = pod.get("terminationGracePeriodSeconds", 30)
            if tgp <= pre_s + grace:
                err(f"{where}: terminationGracePeriodSeconds {tgp} <= preStop {pre_s} + worker shutdown grace {grace}")
            if "KAFKA_BOOTSTRAP_SERVERS" not in env:
                err(f"{where}: no KAFKA_BOOTSTRAP_SERVERS")
            for var in ("QUANTFLOW_STORE_ENDPOINT", "QUANTFLOW_STORE_ACCESS_KEY", "QUANTFLOW_STORE_SECRET_KEY", "QUANTFLOW_STORE_BUCKET"):
                ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef")
                if not ref:
                    err(f"{where}: {var} does not come from a Secret")
                    continue
                s = secrets.get(ref["name"])
                if s is None or ref["key"] not in {**s.get("stringData", {}), **s.get("data", {})}:
                    err(f"{where}: {var} refers to missing secret key {ref['name']}/{ref['key']}")
            jaas = env.get("KAFKA_SASL_JAAS_CONFIG", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("name")
            if jaas not in users:
                err(f"{where}: Kafka credentials come from {jaas}, which is no KafkaUser")

    # LLM pools: one app, a Deployment per weight-only method of the registry
    methods = llm_methods()
    llm_pools = {}
    for name, dep in deployments.items():
        method = env_of(dep).get("QUANTFLOW_LLM_METHOD", {}).get("value")
        if method is None:
            continue
        llm_pools[name] = method
        if method not in methods:
            err(f"Deployment {name}: QUANTFLOW_LLM_METHOD {method} is no LLM method of QuantMethod ({sorted(methods)})")
        elif methods[method][1] != name:
            err(f"Deployment {name} runs method {method}, whose pool is {methods[method][1]}")
    for method, (_, pool) in methods.items():
        if method not in llm_pools.values():
            err(f"no Deployment runs LLM method {method} (pool {pool})")

    # Pools, groups, ScaledObjects, ACLs
    quantize_topics = sorted(t for t in code_topics if t.startswith("quantflow.quantize."))
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in by_kind(docs, "ScaledObject")}
    for name, dep in deployments.items():
        hc = profiler_classes.get(name)
        service_dir = "hardware-profiler" if hc else LLM_APP if name in llm_pools else name
        if not os.path.exists(os.path.join(ROOT, "services", service_dir, "README.md")):
            continue  # not a quantflow service (none today)
        groups, consumed, read, produced = readme_channels(service_dir, quantize_topics, hc,
                                                           pool=name if name in llm_pools else None)
        if name in llm_pools and llm_pools[name] in methods and consumed != {methods[llm_pools[name]][0]}:
            err(f"services/{service_dir}/README.md: pool {name} consumes {sorted(consumed)}, the registry says "
                f"{methods[llm_pools[name]][0]}")
        group = groups[0] if groups else None
        if group is None or not consumed:
            err(f"services/{service_dir}/README.md names no consumed topic with its group")
            continue
        if hc:
            prefix = re.search(r'PROFILER_GROUP_PREFIX\s*=\s*"([^"]+)"', open(BINDINGS_JAVA).read()).group(1)
            if group != prefix + hc:
                err(f"{name}: README group {group} differs from Bindings.PROFILER_GROUP_PREFIX + class ({prefix + hc})")
        is_pool = dep["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "worker-pool"
        if is_pool:
            so = scaled.get(name)
            if so is None:
                err(f"worker pool {name} has no ScaledObject")
            else:
                trig = [t for t in so["spec"]["triggers"] if t["type"] == "kafka"]
                if len(trig) != 1:
                    err(f"ScaledObject {name}: want one kafka trigger")
                else:
                    md = trig[0]["metadata"]
                    for key in ("bootstrapServers", "consumerGroup", "topic", "lagThreshold"):
                        if key not in md:
                            err(f"ScaledObject {name}: trigger without {key}")
                    if md.get("consumerGroup") != group:
                        err(f"ScaledObject {name}: consumerGroup {md.get('consumerGroup')}, service uses {group}")
                    if md.get("topic") not in consumed:
                        err(f"ScaledObject {name}: topic {md.get('topic')} is not what the service consumes {sorted(consumed)}")
                    parts = expected.get(md.get("topic"), (0,))[0]
                    mx, mn = so["spec"].get("maxReplicaCount", 100), so["spec"].get("minReplicaCount", 0)
                    if mx > parts:
                        err(f"ScaledObject {name}: maxReplicaCount {mx} > {parts} partitions (extra pods would idle)")
                    if mn > mx:
                        err(f"ScaledObject {name}: minReplicaCount {mn} > maxReplicaCount {mx}")
            if "replicas" in dep["spec"]:
                err(f"Deployment {name}: replicas set on a KEDA-scaled pool (the two would fight)")
        user = users.get(name)
        if user is None:
            err(f"service {name} has no KafkaUser")
            continue
        acls = user["spec"]["authorization"]["acls"]
        need = [("group", g, "Read") for g in groups]
        need += [("topic", t, "Read") for t in consumed | read]
        need += [("topic", t, "Write") for t in produced | set(STAGE_WORKER_WRITES) if not t.endswith("*")]
        for rtype, rname, op in need:
            if not any(allows(a, rtype, rname, op) for a in acls):
                err(f"KafkaUser {name}: no {op} on {rtype} {rname}")
        allowed_writes = produced | set(STAGE_WORKER_WRITES)
        for a in acls:
            r = a["resource"]
            prefix_ok = r.get("patternType") == "prefix" and r["name"] + "*" in allowed_writes
            if r["type"] == "topic" and "Write" in a["operations"] and not prefix_ok and (
                    r.get("patternType") != "literal" or r["name"] not in allowed_writes):
                err(f"KafkaUser {name}: Write on {r.get('patternType')} {r['name']}, which its README does not produce")
            if r["type"] == "group" and r["name"] not in groups:
                err(f"KafkaUser {name}: ACL on foreign group {r['name']}")
    deployed_modules = {("hardware-profiler" if n in profiler_classes else LLM_APP if n in llm_pools else n)
                        for n in deployments}
    for readme in glob.glob(os.path.join(ROOT, "services", "*", "README.md")):
        module = os.path.basename(os.path.dirname(readme))
        if module not in deployed_modules:
            err(f"services/{module} has no Deployment")
    for target in scaled:
        if target not in deployments:
            err(f"ScaledObject targets unknown Deployment {target}")
    return errors


def allows(acl, rtype, name, op):
    r = acl["resource"]
    if r["type"] != rtype or op not in acl["operations"]:
        return False
    if r.get("patternType", "literal") == "prefix":
        return name.startswith(r["name"])
    return r["name"] == name or r["name"] == "*"


def env_of(dep):
    env = {}
    for c in dep["spec"]["template"]["spec"]["containers"]:
        for e in c.get("env", []):
            env[e["name"]] = e
    return env


def parse_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", str(text))
    if not m:
        raise ValueError(f"cannot read duration {text}")
    n, unit = int(m.group(1)), m.group(2) or "s"
    return {"ms": n / 1000, "s": n, "m": n * 60, "h": n * 3600}[unit]


# ------------------------------------------------------------------------------------------------ self-test

def self_test(kust, docs):
    """Each mutation must produce an error mentioning the given text."""
    def mutate(fn, expect):
        broken = copy.deepcopy(docs)
        fn(broken)
        errs = check(kust, broken)
        if not any(expect in e for e in errs):
            return [f"self-test: breaking '{expect}' was not reported (got {errs[:3]})"]
        return []

    def first(ds, kind, name=None):
        return next(d for _, d in ds if d["kind"] == kind and (name is None or d["metadata"]["name"] == name))

    def drop_topic(ds):
        ds[:] = [(s, d) for s, d in ds if not (d["kind"] == "KafkaTopic" and d["spec"]["topicName"] == "quantflow.export.requested")]

    def no_probe(ds):
        del first(ds, "Deployment", "validator")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]

    def wrong_group(ds):
        so = next(d for _, d in ds if d["kind"] == "ScaledObject" and d["spec"]["scaleTargetRef"]["name"] == "calibration")
        so["spec"]["triggers"][0]["metadata"]["consumerGroup"] = "calibrations"

    def too_many(ds):
        next(d for _, d in ds if d["kind"] == "ScaledObject")["spec"]["maxReplicaCount"] = 12

    def missing_acl(ds):
        u = first(ds, "KafkaUser", "exporter")
        u["spec"]["authorization"]["acls"] = [a for a in u["spec"]["authorization"]["acls"]
                                              if a["resource"].get("name") != "quantflow.models.ready"]

    def short_grace(ds):
        first(ds, "Deployment", "quantizer-static")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30

    def not_compacted(ds):
        t = next(d for _, d in ds if d["kind"] == "KafkaTopic" and d["spec"]["topicName"] == "quantflow.jobs.status")
        del t["spec"]["config"]["cleanup.policy"]

    def no_kraft(ds):
        del first(ds, "Kafka")["metadata"]["annotations"]["strimzi.io/kraft"]

    def bad_kind(ds):
        first(ds, "ScaledObject")["apiVersion"] = "keda.k8s.io/v1alpha1"

    def no_deployment(ds):
        ds[:] = [(s, d) for s, d in ds if not (d["kind"] == "Deployment" and d["metadata"]["name"] == "quantizer-qat")]

    def llm_pool_misnamed(ds):
        env = first(ds, "Deployment", "quantizer-awq")["spec"]["template"]["spec"]["containers"][0]["env"]
        next(e for e in env if e["name"] == "QUANTFLOW_LLM_METHOD")["value"] = "gptq"

    def no_rtn_pool(ds):
        ds[:] = [(s, d) for s, d in ds if not (d["kind"] == "Deployment" and d["metadata"]["name"] == "quantizer-rtn")]

    # each breakage and the message check() must report for it
    breakages = [
        (llm_pool_misnamed, "Deployment quantizer-awq runs method gptq, whose pool is quantizer-gptq"),
        (no_rtn_pool, "no Deployment runs LLM method rtn"),
        (no_deployment, "services/quantizer-qat has no Deployment"),
        (drop_topic, "quantflow.export.requested has no KafkaTopic"),
        (no_probe, "readinessProbe path None"),
        (wrong_group, "consumerGroup calibrations"),
        (too_many, "maxReplicaCount 12"),
        (missing_acl, "KafkaUser exporter: no Write on topic quantflow.models.ready"),
        (short_grace, "terminationGracePeriodSeconds 30"),
        (not_compacted, "cleanup.policy=None"),
        (no_kraft, "strimzi.io/kraft"),
        (bad_kind, "unknown apiVersion/kind keda.k8s.io/v1alpha1"),
    ]
    problems = []
    for fn, expect in breakages:
        problems += mutate(fn, expect)
    return problems


def main():
    kust, docs = load()
    errors = check(kust, docs)
    n_checks = len(docs)
    if "--self-test" in sys.argv:
        errors += self_test(kust, docs)
    for e in errors:
        print("FAIL", e)
    print(f"{n_checks} manifests checked: {len(errors)} problem(s)")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
