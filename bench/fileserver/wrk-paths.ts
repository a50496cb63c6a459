/**
 * A wrk script requesting a random one of COUNT files f<i>.jpg of a project,
 * each by a URL signed with the key in env BENCH_URL_SIGNING_KEY (as a
 * browser gets them from the controller). nginx ignores the query.
 *
 *   node --import tsx bench/fileserver/wrk-paths.ts <project> <count> > pick.lua
 */
import { signFileUrl } from '../../libs/auth/signed-url.js';

const [project, count] = process.argv.slice(2);
const key = Buffer.from(process.env.BENCH_URL_SIGNING_KEY ?? '');
const expiresAt = new Date(Date.now() + 24 * 3600_000);
const urls = Array.from({ length: Number(count) }, (_, i) => signFileUrl({ project: project!, path: `f${i}.jpg`, expiresAt }, key));
process.stdout.write(`paths = {\n${urls.map((u) => `  "${u}",`).join('\n')}\n}
request = function()
  return wrk.format("GET", paths[math.random(1, #paths)])
end
`);
