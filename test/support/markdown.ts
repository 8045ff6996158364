/**
 * Just enough Markdown reading for the documentation checks (test/unit/docs): fenced code blocks with
 * the marker comment before them, links outside code, and the anchors GitHub gives headings.
 */

export interface CodeBlock {
  /** The fence's info string, e.g. 'ts' or 'ts fragment'. */
  readonly info: string;
  /** The code, with the fence's own indentation removed. */
  readonly code: string;
  /** 1-based line of the first code line in the Markdown file. */
  readonly line: number;
  /** The reason of a `<!-- not-compiled: reason -->` comment on the last non-blank line before the fence. */
  readonly notCompiled?: string;
  /** The file name of a `<!-- file: orders.ts -->` comment there: later blocks of the document import it as './orders'. */
  readonly fileName?: string;
}

export interface MarkdownLink {
  readonly target: string;
  /** 1-based line of the link. */
  readonly line: number;
}

const FENCE = /^(\s*)(```+|~~~+)\s*(.*)$/;
const MARKER = /^\s*<!--\s*(not-compiled|file):\s*(.+?)\s*-->\s*$/;

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !(lines[end].trim().startsWith(fence) && lines[end].trim().replace(/[`~]/g, '') === '')) end++;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? MARKER.exec(lines[before]) : null;
    const code = lines
      .slice(start, end)
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line.trimStart()))
      .join('\n');
    blocks.push({
      info: info.trim(),
      code,
      line: start + 1,
      ...(marker?.[1] === 'not-compiled' ? { notCompiled: marker[2] } : {}),
      ...(marker?.[1] === 'file' ? { fileName: marker[2] } : {}),
    });
    i = end;
  }
  return blocks;
}

/** The Markdown's lines with every fenced block's lines blanked (line numbers kept). */
function outsideFences(markdown: string): string[] {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  return lines.map((line) => {
    const open = FENCE.exec(line);
    if (fence === undefined && open) {
      fence = open[2];
      return '';
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') fence = undefined;
      return '';
    }
    return line;
  });
}

const LINK = /\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

/** Every inline link `[text](target)` outside code, images included. */
export function links(markdown: string): MarkdownLink[] {
  return outsideFences(markdown).flatMap((line, index) =>
    [...line.replace(/`[^`]*`/g, '').matchAll(LINK)].map((match) => ({ target: match[1], line: index + 1 })),
  );
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings, with GitHub's -1, -2 suffixes for repeated ones. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of outsideFences(markdown)) {
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}
