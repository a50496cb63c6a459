/**
 * Paths that must never reach a byte outside project alpha of the fixture.
 * 'malformed' ones are refused on sight (INVALID_ARGUMENT / 400); 'hidden'
 * ones are well-formed but resolve outside or nowhere (NOT_FOUND / 404), so
 * existence outside the project is never confirmed.
 */
export type Refusal = 'malformed' | 'hidden';

export interface TraversalCase {
  path: string;
  expect: Refusal;
}

const targets = ['beta/secret.txt', 'etc/passwd', 'alpha/hello.txt', 'outside/secret.txt', 'toplevel.txt'];
const climbs = ['..', '../..', '../../..', '../../../../../../../..'];
const starts = ['', 'a/', 'a/b/', 'a/b/c/', 'hello.txt/'];

function generatedDotDot(): TraversalCase[] {
  const out: TraversalCase[] = [];
  for (const start of starts) {
    for (const climb of climbs) {
      out.push({ path: `${start}${climb}/${targets[out.length % targets.length]}`, expect: 'malformed' });
    }
  }
  // The same with Windows separators.
  for (const climb of climbs) {
    for (const target of targets) out.push({ path: `${climb}/${target}`.replaceAll('/', '\\'), expect: 'malformed' });
  }
  return out;
}

const malformed: string[] = [
  '', '.', '..', '../', './', '/', '//', '/etc/passwd', '//etc/passwd', '/alpha/hello.txt', '/../beta/secret.txt',
  'C:/Windows/win.ini', 'c:\\boot.ini', 'C:hello.txt', 'z:', '\\\\server\\share\\x',
  'hello.txt\u0000.png', 'hello.txt\u0000', '\u0000', 'hel\nlo.txt', 'hello.txt\r', 'a\tb', '\u001b[31m', 'x\u007f', 'x\u0085',
  'a/..', 'a/../..', 'a/b/../../hello.txt', 'hello.txt/..', 'a/./b/c/deep.txt', './hello.txt', 'a//b/c/deep.txt',
  'a/b/c/deep.txt/', 'hello.txt/', 'link-outdir/../../beta/secret.txt', 'link-root/../toplevel.txt',
  '..\\beta\\secret.txt', 'a\\..\\..\\beta', 'hello.txt\\', '..//beta/secret.txt',
  `${'a/'.repeat(2100)}x`, 'n'.repeat(300),
];

const hidden: string[] = [
  'missing.txt', 'a/missing/deeper.txt', 'link-other-project.txt', 'link-other-project-dir/secret.txt',
  'link-etc-passwd', 'link-etc/passwd', 'link-etc/hostname', 'link-outdir/secret.txt', 'link-outdir',
  'link-root/toplevel.txt', 'link-root/beta/secret.txt', 'link-tmp',
  'link-proc', 'link-dangling-out', 'link-loop', 'link-loop/x', 'a/link-up/secret.txt',
  // Escapes that survive one decode stay literal names, which do not exist.
  '%2e%2e/beta/secret.txt', '%2e%2e%2fbeta%2fsecret.txt', '%252e%252e/beta/secret.txt', '..%2fbeta%2fsecret.txt',
  '..%5cbeta%5csecret.txt', '%2e%2e%5c%2e%2e%5cetc%5cpasswd', '%c0%ae%c0%ae/beta/secret.txt', '%uff0e%uff0e/beta',
  // Look-alikes of dots are ordinary characters.
  '\uff0e\uff0e/beta/secret.txt', '\u2024\u2024/beta/secret.txt', '\u2025/beta/secret.txt', '.../beta/secret.txt',
  '. ./beta/secret.txt', '.. /beta/secret.txt',
  // Existing paths outside the project named as if they were inside it.
  'beta/secret.txt', 'etc/passwd', 'toplevel.txt', 'outside/secret.txt', 'root/toplevel.txt',
];

export const TRAVERSAL_CORPUS: TraversalCase[] = [
  ...generatedDotDot(),
  ...malformed.map((path): TraversalCase => ({ path, expect: 'malformed' })),
  ...hidden.map((path): TraversalCase => ({ path, expect: 'hidden' })),
];

/** Project names that are not names (malformed) or not projects (hidden). */
export const PROJECT_CORPUS: Array<{ project: string; expect: Refusal }> = [
  ...['', '.', '..', 'Alpha', 'ALPHA', '-alpha', '_alpha', 'al pha', 'alpha/', 'alpha/..', '../alpha',
    'a'.repeat(64), 'alpha\u0000', 'älpha', 'alpha.beta', '%2e%2e']
    .map((project) => ({ project, expect: 'malformed' as const })),
  ...['gamma', 'toplevel', 'outside', 'root'].map((project) => ({ project, expect: 'hidden' as const })),
];
