/**
 * Turns the wrk outputs of http-vs-nginx.sh (<dir>/<server>-<round>.txt) into
 * the "## FileServer" section of bench/RESULTS.md: per server the median
 * req/s and p99 over the rounds, and per pairing the FileServer ÷ nginx ratio
 * of each round (both measured back to back), as median and range.
 *
 *   node --import tsx bench/fileserver/http-report.ts <dir> <header line> <grpc json>
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const [dir, header, grpcJson] = process.argv.slice(2) as [string, string, string];

const SERVERS: Array<[id: string, label: string]> = [
  ['fs1', 'FileServer, 1 HTTP process'],
  ['fs2', 'FileServer, 2 HTTP processes'],
  ['fs1-nocache', 'FileServer, 1 HTTP process, http_cache_bytes = 0'],
  ['nginx1', 'nginx, 1 worker (sendfile)'],
  ['nginx2', 'nginx, 2 workers (sendfile)'],
];
const PAIRS: Array<[fs: string, nginx: string]> = [['fs1', 'nginx1'], ['fs2', 'nginx2'], ['fs1-nocache', 'nginx1']];

/** wrk --latency output: requests/s and the 99th percentile in ms. */
function parseWrk(text: string): { rps: number; p99: number } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const [, value, unit] = /^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(text) ?? [];
  const p99 = Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit as 'us' | 'ms' | 's'] ?? NaN);
  if (!(rps > 0) || !(p99 >= 0)) throw new Error(`no wrk figures in:\n${text}`);
  return { rps, p99 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const runs = new Map<string, Map<number, { rps: number; p99: number }>>();
for (const name of readdirSync(dir)) {
  const match = /^(.+)-(\d+)\.txt$/.exec(name);
  if (!match) continue;
  const [, id, round] = match as unknown as [string, string, string];
  if (!runs.has(id)) runs.set(id, new Map());
  runs.get(id)!.set(Number(round), parseWrk(readFileSync(path.join(dir, name), 'utf8')));
}
const rounds = Math.max(...[...runs.values()].map((r) => r.size));

const serverRows = SERVERS.filter(([id]) => runs.has(id)).map(([id, label]) => {
  const figures = [...runs.get(id)!.values()];
  return `| ${label} | ${median(figures.map((f) => f.rps)).toFixed(0)} | ${median(figures.map((f) => f.p99)).toFixed(1)} | ${figures.map((f) => f.rps.toFixed(0)).join(', ')} |`;
});
const pairRows = PAIRS.filter(([fs, nginx]) => runs.has(fs) && runs.has(nginx)).map(([fs, nginx]) => {
  const ratios = [...runs.get(fs)!].flatMap(([round, f]) => {
    const n = runs.get(nginx)!.get(round);
    return n ? [f.rps / n.rps] : [];
  });
  const label = (id: string) => SERVERS.find(([s]) => s === id)![1];
  return `| ${label(fs)} ÷ ${label(nginx)} | **${median(ratios).toFixed(2)}** | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} |`;
});
const grpc = JSON.parse(grpcJson) as { medianMBps: number; rounds: number };

const section = `## FileServer

${header}
Produced by \`bench/fileserver/http-vs-nginx.sh\` (${rounds} rounds; in each round every server runs back to back
after a 3 s warm-up, freshly started).

| server | req/s (median) | p99 ms (median) | req/s per round |
|---|---:|---:|---|
${serverRows.join('\n')}

| ratio of req/s, per round | median | range |
|---|---:|---:|
${pairRows.join('\n')}

Target: FileServer ≥ 0.6 × nginx req/s. The FileServer runs as deployed (services/fileserver/main.ts from
settings) and checks a signed URL on every request; nginx checks nothing. Both get the same wrk script
(nginx ignores the query). wrk shares the 2 cores with the servers, and other work on this shared machine
moves absolute figures by tens of percent between runs: compare within a round.
nginx hands each file to the kernel with sendfile(2). The FileServer checks the signature on every
request (the HMAC once per URL: verified URLs are remembered by their text until they expire, as a browser
asks for the same URL again, and so is each URL's parse; the 1,000 URLs here repeat, so after the warm-up
neither is redone) and confines the
path on every request: on a path free of symlinks an lstat of each level, whose last one (the file's)
must still match the version in its cache (http_cache_bytes per process; here large enough for all 1,000
files) for the bytes to come from memory; anything else is resolved with realpath, opened, read whole and
closed: the no-cache row is that path. With 2 HTTP processes the service process hands each connection
to one of them (node:cluster).

gRPC GetFile, one 200 MB file over loopback (client and server in one process, SHA-256 checked on both ends):
median **${grpc.medianMBps.toFixed(0)} MB/s** over ${grpc.rounds} rounds.
`;

const results = 'bench/RESULTS.md';
const text = existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmark results\n';
// Replace our section (up to the next "## " heading), or append it.
const re = /^## FileServer\n[\s\S]*?(?=^## |(?![\s\S]))/m;
const out = re.test(text) ? text.replace(re, `${section}\n`) : `${text.trimEnd()}\n\n${section}`;
writeFileSync(results, `${out.trimEnd()}\n`);
console.log(section);
