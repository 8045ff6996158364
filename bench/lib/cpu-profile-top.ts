import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * The functions with the most self time in a V8 .cpuprofile (node --cpu-prof), as "share name (file:line)".
 * Shares are of all samples, idle included, so that "(idle)" shows how much CPU was left.
 */
export function topFrames(file: string, count = 8): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` (${url.replace(/^.*node_modules\//, '').replace(/^.*\/bench\/\.build\//, '')}:${lineNumber + 1})` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    byFrame.set(key, (byFrame.get(key) ?? 0) + hits);
  }
  return [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1)}% ${name}`);
}

/** The newest .cpuprofile in a directory. */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  return files.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

if (require.main === module) {
  for (const line of topFrames(process.argv[2], Number(process.argv[3] ?? 15))) console.log(line);
}
