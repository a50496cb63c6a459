/**
 * deploy/: the image recipe and the Kubernetes manifests, checked without a
 * Docker engine or a cluster. kubectl (kustomize) must be installed: CI
 * renders every overlay. yamllint runs when present (required when
 * AIDE_TEST_REQUIRE_SERVERS=1, as in CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { parse as parseIni } from 'ini';
import { parseAllDocuments } from 'yaml';
import { SETTINGS_CATALOG, findSetting } from '../../libs/config/catalog.js';
import { envName } from '../../libs/config/config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(ROOT, 'deploy');
const OVERLAYS = ['cpu', 'gpu'] as const;
const requireTools = process.env.AIDE_TEST_REQUIRE_SERVERS === '1';

// ---------------------------------------------------------------- helpers

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type K8s = any;

const which = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

const rendered = new Map<string, K8s[]>();
function render(overlay: string): K8s[] {
  let docs = rendered.get(overlay);
  if (!docs) {
    const text = execFileSync('kubectl', ['kustomize', join(DEPLOY, 'k8s/overlays', overlay)], { encoding: 'utf8' });
    docs = parseAllDocuments(text).map((d) => {
      assert.equal(d.errors.length, 0, `${overlay}: ${d.errors.join('; ')}`);
      return d.toJS();
    }).filter(Boolean);
    rendered.set(overlay, docs);
  }
  return docs;
}

const ofKind = (docs: K8s[], kind: string): K8s[] => docs.filter((d) => d.kind === kind);
const named = (docs: K8s[], kind: string, name: string): K8s => {
  const found = docs.find((d) => d.kind === kind && d.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found;
};

/** The service sections of the mesh and the Deployments that run them. */
const MESH = [
  { deployment: 'aide-controller', container: 'controller', section: 'AIController', health: 'aide.v1.ControllerService' },
  { deployment: 'aide-worker', container: 'worker', section: 'AIWorker', health: 'aide.v1.WorkerService' },
  { deployment: 'aide-fileserver', container: 'fileserver', section: 'FileServer', health: 'aide.v1.FileService' },
  { deployment: 'aide-ranker', container: 'ranker', section: 'Ranker', health: 'aide.v1.RankerService' },
] as const;

/** The INI in the rendered ConfigMap, plus a lookup that applies a container's AIDE_* env like Config does. */
function settings(docs: K8s[]) {
  const cm = ofKind(docs, 'ConfigMap').find((d) => d.metadata.name.startsWith('aide-settings'));
  assert.ok(cm, 'settings ConfigMap rendered');
  const tree = parseIni(cm.data['aide.ini']) as Record<string, Record<string, unknown>>;
  const file = (section: string, key: string): string | undefined => {
    const s = Object.entries(tree).find(([n]) => n.toLowerCase() === section.toLowerCase())?.[1];
    const v = s && Object.entries(s).find(([n]) => n.toLowerCase() === key.toLowerCase())?.[1];
    return v === undefined ? undefined : String(v);
  };
  return {
    cm, tree, file,
    get(container: K8s, section: string, key: string): string | undefined {
      const env = (container.env ?? []).find((e: K8s) => e.name === envName(section, key));
      if (env && env.value !== undefined) return String(env.value);
      const value = file(section, key);
      return value ?? (findSetting(section, key)?.default as string | undefined)?.toString();
    },
  };
}

function podSpecOf(docs: K8s[], deployment: string): K8s {
  return named(docs, 'Deployment', deployment).spec.template.spec;
}

function probePort(probe: K8s, container: K8s): number {
  if (probe.grpc) return Number(probe.grpc.port);
  if (probe.exec) {
    const [cmd, script, port] = probe.exec.command;
    assert.equal(cmd, 'node');
    assert.equal(script, 'deploy/grpc-health-probe.mjs');
    return Number(port);
  }
  const p = probe.httpGet?.port ?? probe.tcpSocket?.port;
  const byName = (container.ports ?? []).find((cp: K8s) => cp.name === p);
  return byName ? byName.containerPort : Number(p);
}

// ---------------------------------------------------------------- Dockerfile

interface Instruction { line: number; op: string; args: string }

function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!;
    }
    const m = /^\s*(\S+)\s*(.*)$/.exec(line)!;
    out.push({ line: start + 1, op: m[1]!.toUpperCase(), args: m[2]!.trim() });
  }
  return out;
}

/** .dockerignore patterns (no negations) as RegExps over repo-relative paths. */
function ignoreMatchers(text: string): RegExp[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((p) => {
    assert.ok(!p.startsWith('!'), `negated .dockerignore patterns are not checked: ${p}`);
    const re = p.replace(/^\/+|\/+$/g, '').split('/').map((seg) =>
      seg === '**' ? '(?:.*/)?' : `${seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`,
    ).join('');
    return new RegExp(`^${re.replace(/\/$/, '')}(?:/.*)?$`);
  });
}

test('Dockerfile: known instructions, COPY sources exist and are not dockerignored, stages resolve, final stages non-root', () => {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const known = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER',
    'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
  const ignored = ignoreMatchers(readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8'));
  const args = new Map<string, string>();
  const stages: { name?: string; base: string; user?: string; instructions: Instruction[] }[] = [];
  for (const ins of dockerInstructions(text)) {
    assert.ok(known.has(ins.op), `line ${ins.line}: unknown instruction ${ins.op}`);
    assert.notEqual(ins.op, 'HEALTHCHECK', 'no HEALTHCHECK: Kubernetes probes check health');
    const expand = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? `\${${a ?? b}}`);
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v = ''] = ins.args.split('=', 2);
      args.set(k!, expand(v));
      continue;
    }
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      assert.ok(m, `line ${ins.line}: FROM ${ins.args}`);
      const base = expand(m[1]!);
      assert.ok(!base.includes('${'), `line ${ins.line}: FROM ${base} uses an undeclared ARG`);
      if (!base.includes('/') && !base.includes(':')) {
        assert.ok(stages.some((s) => s.name === base), `line ${ins.line}: FROM ${base} names no earlier stage`);
      }
      stages.push({ name: m[2], base, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    assert.ok(stage, `line ${ins.line}: ${ins.op} before FROM`);
    stage.instructions.push(ins);
    if (ins.op === 'USER') stage.user = ins.args;
    if (ins.op === 'COPY' || ins.op === 'ADD') {
      const words = ins.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      assert.ok(paths.length >= 2, `line ${ins.line}: ${ins.op} needs a source and a destination`);
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      if (from) {
        assert.ok(stages.slice(0, -1).some((s) => s.name === from), `line ${ins.line}: --from=${from} names no earlier stage`);
        continue;
      }
      for (const src of paths.slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, src)), `line ${ins.line}: COPY source ${src} does not exist in the repository`);
        assert.ok(!ignored.some((re) => re.test(src.replace(/^\.\//, '').replace(/\/$/, ''))),
          `line ${ins.line}: COPY source ${src} is excluded by Dockerfile.dockerignore`);
      }
    }
  }
  const names = stages.map((s) => s.name);
  for (const target of ['runtime', 'worker-gpu']) {
    const stage = stages.find((s) => s.name === target);
    assert.ok(stage, `stage ${target} exists (stages: ${names.join(', ')})`);
    assert.ok(stage.user, `${target} sets USER`);
    assert.ok(!/^(root|0)(:|$)/.test(stage.user), `${target} runs as non-root (USER ${stage.user})`);
    assert.match(stage.user, /^\d+(:\d+)?$/, `${target}: numeric USER so runAsNonRoot can verify it`);
    const entry = stage.instructions.find((i) => i.op === 'ENTRYPOINT');
    assert.deepEqual(entry && JSON.parse(entry.args), ['node', '--import', 'tsx', 'services/run.ts']);
  }
  assert.match(stages.find((s) => s.name === 'runtime')!.base, /^node$/);
  assert.ok(stages.find((s) => s.name === 'node')!.base.startsWith('node:20-bookworm-slim'));
  assert.ok(stages.find((s) => s.name === 'cuda-node')!.base.startsWith('nvidia/cuda:'));
  assert.match(text, /@tensorflow\/tfjs-node-gpu/);
  // the runtime stages copy what services/run.ts imports at run time
  for (const dir of ['proto', 'libs', 'models', 'services']) assert.match(text, new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
});

test('promote-deps: tsx and its closure become production dependencies, other devDependencies stay dev', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aide-promote-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(dir, f));
    execFileSync(process.execPath, [join(DEPLOY, 'promote-deps.mjs'), 'tsx'], { cwd: dir, encoding: 'utf8' });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    assert.ok(pkg.dependencies.tsx && !pkg.devDependencies.tsx);
    assert.ok(lock.packages[''].dependencies.tsx && !lock.packages[''].devDependencies.tsx);
    for (const p of ['node_modules/tsx', 'node_modules/esbuild']) assert.equal(lock.packages[p].dev, undefined, `${p} is production`);
    assert.equal(lock.packages['node_modules/typescript'].dev, true, 'typescript stays a devDependency');
    assert.ok(pkg.dependencies['@tensorflow/tfjs-backend-wasm'], 'the CPU image\'s WASM backend is a production dependency');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('grpc-health-probe.mjs: SERVING over mTLS exits 0; unknown service, no client cert, plaintext mismatch exit 1', { skip: which('openssl') ? false : 'openssl not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aide-probe-'));
  const ossl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
  const server = new grpc.Server();
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=aide-test-ca');
    ossl('req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=aide-mesh');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    ossl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '1', '-extfile', 'ext');
    const read = (f: string) => readFileSync(join(dir, f));
    new HealthImplementation({ '': 'SERVING', 'aide.v1.WorkerService': 'SERVING', 'aide.v1.Draining': 'NOT_SERVING' }).addToServer(server);
    const creds = grpc.ServerCredentials.createSsl(read('ca.crt'), [{ cert_chain: read('tls.crt'), private_key: read('tls.key') }], true);
    const port = await new Promise<number>((ok, ko) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? ko(e) : ok(p))));
    writeFileSync(join(dir, 'aide.ini'), `[Security]\nplaintext = false\ntls_cert = ${join(dir, 'tls.crt')}\ntls_key = ${join(dir, 'tls.key')}\ntls_ca = ${join(dir, 'ca.crt')}\n`);
    const probe = (service: string, env: Record<string, string> = {}) => new Promise<number>((ok) => {
      const child = spawn(process.execPath, [join(DEPLOY, 'grpc-health-probe.mjs'), String(port), service, '--timeout-ms', '1500'],
        { cwd: ROOT, env: { ...process.env, AIDE_SETTINGS: join(dir, 'aide.ini'), ...env }, stdio: 'ignore' });
      child.on('exit', (code) => ok(code ?? -1));
    });
    const [serving, whole, draining, unknown, noClientCert, plaintext] = await Promise.all([
      probe('aide.v1.WorkerService'), probe(''), probe('aide.v1.Draining'), probe('aide.v1.Nope'),
      probe('aide.v1.WorkerService', { AIDE_SECURITY_TLS_CERT: '', AIDE_SECURITY_TLS_KEY: '' }),
      probe('aide.v1.WorkerService', { AIDE_SECURITY_PLAINTEXT: 'true' }),
    ]);
    assert.deepEqual({ serving, whole, draining, unknown, noClientCert, plaintext },
      { serving: 0, whole: 0, draining: 1, unknown: 1, noClientCert: 1, plaintext: 1 });
  } finally {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- kustomize

test('kubectl is installed (CI renders the overlays, never skips them)', () => {
  assert.ok(which('kubectl'), 'kubectl not found: install kubectl >= 1.27 (kustomize built in)');
});

for (const overlay of OVERLAYS) {
  test(`overlay ${overlay}: renders and is consistent with its settings`, () => {
    const docs = render(overlay);
    const ini = settings(docs);
    const kinds = new Set(docs.map((d) => d.kind));
    for (const k of ['Deployment', 'Service', 'ConfigMap', 'Secret', 'StatefulSet', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'NetworkPolicy']) {
      assert.ok(kinds.has(k), `${overlay} renders a ${k}`);
    }

    // ConfigMap is mounted and AIDE_SETTINGS points at it, in every mesh pod
    for (const m of MESH) {
      const spec = podSpecOf(docs, m.deployment);
      const c = spec.containers.find((x: K8s) => x.name === m.container);
      assert.ok(c, `${m.deployment} has container ${m.container}`);
      assert.deepEqual(c.args, [m.container], `${m.deployment} runs services/run.ts ${m.container}`);
      const settingsPath = c.env.find((e: K8s) => e.name === 'AIDE_SETTINGS')?.value;
      const mount = c.volumeMounts.find((v: K8s) => v.mountPath === settingsPath);
      assert.ok(mount, `${m.deployment}: AIDE_SETTINGS=${settingsPath} is a mount`);
      const vol = spec.volumes.find((v: K8s) => v.name === mount.name);
      assert.equal(vol.configMap?.name, ini.cm.metadata.name, `${m.deployment} mounts the settings ConfigMap`);
      assert.equal(mount.subPath, 'aide.ini');

      // ports: container port = [Section] port; probes target it and the per-service health name
      const port = Number(ini.get(c, m.section, 'port'));
      const grpcPort = c.ports.find((p: K8s) => p.name === 'grpc');
      assert.equal(grpcPort?.containerPort, port, `${m.deployment}: containerPort grpc = [${m.section}] port`);
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const probe = c[kind];
        assert.ok(probe, `${m.deployment} has a ${kind}`);
        assert.equal(probePort(probe, c), port, `${m.deployment} ${kind} port`);
        const service = probe.grpc ? probe.grpc.service : probe.exec.command[3];
        assert.equal(service, m.health, `${m.deployment} ${kind} checks ${m.health}`);
      }
      if (m.section === 'AIController') {
        assert.equal(c.ports.find((p: K8s) => p.name === 'state-lane')?.containerPort, Number(ini.get(c, 'AIController', 'state_lane_port')), 'containerPort state-lane = [AIController] state_lane_port');
      }
      if (m.section === 'FileServer') {
        assert.equal(c.ports.find((p: K8s) => p.name === 'http')?.containerPort, Number(ini.get(c, 'FileServer', 'http_port')));
        const root = ini.get(c, 'FileServer', 'root')!;
        const data = c.volumeMounts.find((v: K8s) => root === v.mountPath || root.startsWith(`${v.mountPath}/`));
        const pvc = spec.volumes.find((v: K8s) => v.name === data?.name)?.persistentVolumeClaim?.claimName;
        assert.ok(pvc, `[FileServer] root ${root} is on a PersistentVolumeClaim`);
        named(docs, 'PersistentVolumeClaim', pvc);
      }

      // grace period outlasts preStop + drain
      const drain = Number(ini.get(c, m.section, 'drain_deadline_s'));
      const preStop = c.lifecycle?.preStop?.exec?.command;
      const preStopS = preStop?.[0] === 'sleep' ? Number(preStop[1]) : Number(c.lifecycle?.preStop?.sleep?.seconds ?? 0);
      assert.ok(spec.terminationGracePeriodSeconds > drain + preStopS,
        `${m.deployment}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} > preStop ${preStopS} + drain ${drain}`);

      // TLS: the INI's cert paths are files of the mounted secret
      for (const key of ['tls_cert', 'tls_key', 'tls_ca']) {
        const path = ini.get(c, 'Security', key)!;
        const tlsMount = c.volumeMounts.find((v: K8s) => path.startsWith(`${v.mountPath}/`));
        assert.ok(tlsMount, `${m.deployment}: [Security] ${key} ${path} is under a mount`);
        assert.ok(spec.volumes.find((v: K8s) => v.name === tlsMount.name)?.secret?.secretName, `${path} comes from a Secret`);
      }
      assert.notEqual(ini.get(c, 'Security', 'plaintext'), 'true', 'the cluster runs TLS');
    }

    // every AIDE_* env is a real setting; every secretKeyRef / configMapKeyRef exists
    for (const w of [...ofKind(docs, 'Deployment'), ...ofKind(docs, 'StatefulSet')]) {
      for (const c of w.spec.template.spec.containers) {
        for (const e of c.env ?? []) {
          if (!e.name.startsWith('AIDE_') || e.name === 'AIDE_SETTINGS') continue;
          assert.ok(SETTINGS_CATALOG.some((s) => envName(s.section, s.key) === e.name), `${w.metadata.name}: env ${e.name} is no setting`);
        }
        for (const from of c.envFrom ?? []) {
          if (!from.secretRef) continue;
          const secret = named(docs, 'Secret', from.secretRef.name);
          for (const k of Object.keys(secret.data ?? {})) {
            if (k.startsWith('AIDE_')) assert.ok(SETTINGS_CATALOG.some((s) => envName(s.section, s.key) === k), `secret key ${k} is no setting`);
          }
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) assert.ok(ref.key in (named(docs, 'Secret', ref.name).data ?? {}), `${ref.name} has key ${ref.key}`);
        }
      }
    }
    // every INI key is a real setting
    for (const [section, keys] of Object.entries(ini.tree)) {
      for (const key of Object.keys(keys)) assert.ok(findSetting(section, key), `[${section}] ${key} is not in the catalog`);
    }

    // Services: targetPorts match a container port of the selected pods
    const workloads = [...ofKind(docs, 'Deployment'), ...ofKind(docs, 'StatefulSet')];
    for (const svc of ofKind(docs, 'Service')) {
      const sel = svc.spec.selector;
      const pods = workloads.filter((w) => Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels?.[k] === v));
      assert.ok(pods.length > 0, `Service ${svc.metadata.name} selects a workload`);
      for (const p of svc.spec.ports) {
        const target = p.targetPort ?? p.port;
        for (const w of pods) {
          const ports = w.spec.template.spec.containers.flatMap((c: K8s) => c.ports ?? []);
          assert.ok(ports.some((cp: K8s) => cp.name === target || cp.containerPort === target),
            `Service ${svc.metadata.name} targetPort ${target} is a port of ${w.metadata.name}`);
          const byName = ports.find((cp: K8s) => cp.name === target || cp.containerPort === target);
          if (svc.metadata.name.startsWith('aide-') && byName) assert.equal(p.port, byName.containerPort, `${svc.metadata.name} port = container port`);
        }
      }
    }

    // workers_dns names the headless worker Service (and its namespace)
    const ctl = podSpecOf(docs, 'aide-controller').containers[0];
    const dns = ini.get(ctl, 'AIController', 'workers_dns')!;
    const workerSvc = named(docs, 'Service', dns.split('.')[0]!);
    assert.equal(workerSvc.spec.clusterIP, 'None', `${dns} is a headless Service`);
    assert.deepEqual(workerSvc.spec.selector, named(docs, 'Deployment', 'aide-worker').spec.selector.matchLabels);
    const ns = workerSvc.metadata.namespace;
    assert.ok([workerSvc.metadata.name, `${workerSvc.metadata.name}.${ns}`, `${workerSvc.metadata.name}.${ns}.svc`,
      `${workerSvc.metadata.name}.${ns}.svc.cluster.local`].includes(dns), `workers_dns ${dns} matches namespace ${ns}`);
    const fs = ini.get(podSpecOf(docs, 'aide-worker').containers[0], 'AIWorker', 'fileserver')!;
    const [fsHost, fsPort] = fs.split(':');
    const fsSvc = named(docs, 'Service', fsHost!.split('.')[0]!);
    assert.ok(fsSvc.spec.ports.some((p: K8s) => p.port === Number(fsPort)), `[AIWorker] fileserver ${fs} is a FileServer Service port`);
    const nats = new URL(ini.file('NATS', 'url')!);
    assert.ok(named(docs, 'Service', nats.hostname).spec.ports.some((p: K8s) => p.port === Number(nats.port)));
    const db = new URL(Buffer.from(named(docs, 'Secret', ctl.env.find((e: K8s) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).data.DATABASE_URL, 'base64').toString());
    assert.ok(named(docs, 'Service', db.hostname).spec.ports.some((p: K8s) => p.port === Number(db.port)));

    // the worker backend is one the worker knows
    const backend = ini.get(podSpecOf(docs, 'aide-worker').containers[0], 'AIWorker', 'backend')!;
    const known = readFileSync(join(ROOT, 'libs/tf/backend.ts'), 'utf8').match(/export type BackendName = ([^;]+);/)?.[1] ?? '';
    assert.ok(backend === 'auto' || known.includes(`'${backend}'`), `[AIWorker] backend ${backend} is one of ${known}`);

    // resources, non-root, read-only root, PDBs
    const pdbs = ofKind(docs, 'PodDisruptionBudget');
    for (const w of workloads) {
      const spec = w.spec.template.spec;
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${w.metadata.name} runAsNonRoot`);
      for (const c of spec.containers) {
        for (const r of ['cpu', 'memory']) {
          assert.ok(c.resources?.requests?.[r], `${w.metadata.name}/${c.name} requests ${r}`);
          assert.ok(c.resources?.limits?.[r], `${w.metadata.name}/${c.name} limits ${r}`);
        }
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${w.metadata.name}/${c.name} no privilege escalation`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${w.metadata.name}/${c.name} read-only root`);
      }
      if (w.kind === 'Deployment') {
        const labels = w.spec.template.metadata.labels;
        assert.ok(pdbs.some((p) => Object.entries(p.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)), `${w.metadata.name} has a PodDisruptionBudget`);
        // tsx writes its cache to /tmp: it must be writable under a read-only root
        assert.ok(spec.containers[0].volumeMounts.some((v: K8s) => v.mountPath === '/tmp'), `${w.metadata.name} mounts /tmp`);
      }
    }

    // NetworkPolicy: FileServer gRPC only from controller and workers
    const fsPod = named(docs, 'Deployment', 'aide-fileserver').spec.template.metadata.labels;
    const fsGrpc = Number(ini.file('FileServer', 'port'));
    const policies = ofKind(docs, 'NetworkPolicy').filter((p) =>
      Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => fsPod[k] === v) && p.spec.podSelector.matchLabels);
    assert.equal(policies.length, 1, 'one NetworkPolicy selects the FileServer pods');
    const policy = policies[0];
    assert.ok(policy.spec.policyTypes.includes('Ingress'));
    const grpcRules = policy.spec.ingress.filter((r: K8s) => r.ports?.some((p: K8s) => p.port === fsGrpc || p.port === 'grpc'));
    assert.ok(grpcRules.length > 0, 'a rule opens the FileServer gRPC port');
    const allowed = new Set<string>();
    for (const rule of grpcRules) {
      assert.ok(rule.from?.length, 'the gRPC rule names its peers (no allow-all)');
      for (const peer of rule.from) {
        assert.ok(!peer.namespaceSelector && !peer.ipBlock && peer.podSelector?.matchLabels, 'gRPC peers are pods of this namespace');
        allowed.add(peer.podSelector.matchLabels['app.kubernetes.io/name']);
      }
    }
    assert.deepEqual([...allowed].sort(), ['aide-controller', 'aide-worker']);
    for (const rule of policy.spec.ingress) {
      assert.ok(rule.ports?.length, 'every FileServer ingress rule names its ports');
      if (!grpcRules.includes(rule)) assert.ok(rule.ports.every((p: K8s) => p.port !== fsGrpc), 'other rules do not open gRPC');
    }

    // GPU workers
    const worker = podSpecOf(docs, 'aide-worker');
    const gpu = worker.containers[0].resources.limits['nvidia.com/gpu'];
    if (overlay === 'gpu') {
      assert.equal(Number(gpu), 1, 'GPU workers limit nvidia.com/gpu: 1');
      assert.ok(worker.tolerations?.some((t: K8s) => t.key === 'nvidia.com/gpu'), 'GPU workers tolerate nvidia.com/gpu taints');
      assert.ok(Object.keys(worker.nodeSelector ?? {}).length > 0, 'GPU workers select GPU nodes');
      assert.match(worker.containers[0].image, /aide-mesh-gpu/);
      assert.equal(ini.get(worker.containers[0], 'AIWorker', 'backend'), 'tensorflow-gpu');
    } else {
      assert.equal(gpu, undefined);
      assert.doesNotMatch(worker.containers[0].image, /gpu/);
    }
  });
}

test('yamllint: deploy/ is clean', { skip: !which('yamllint') && !requireTools ? 'yamllint not installed' : false }, () => {
  assert.ok(which('yamllint'), 'yamllint not installed (AIDE_TEST_REQUIRE_SERVERS=1): apt-get install -y yamllint');
  const r = spawnSync('yamllint', ['-s', '-c', join(ROOT, '.yamllint'), 'deploy', '.yamllint'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
