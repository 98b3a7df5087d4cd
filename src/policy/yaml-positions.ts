// YAML with positions: parse every document of a file, keep the node tree, and
// turn a JSON pointer (as ajv reports it) back into file:line:column.
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from 'yaml';
import type { Diagnostic, SourcePos } from '../errors.ts';
import { MAX_SYNTAX_ERRORS, withoutQuotedText } from './guard.ts';
import { MAX_YAML_ALIASES } from './limits.ts';
import { checkYamlLimits } from './yaml-guard.ts';

export interface YamlDocument {
  file: string;
  /** 0-based index of the document in its file */
  index: number;
  /** the plain JavaScript value of the document */
  value: unknown;
  /**
   * Position of the node at a JSON-pointer path. `key` points at the key of the
   * last mapping entry on the path (where a human looks for a key), `value` at
   * the value itself; both fall back to the nearest existing ancestor.
   */
  locate(path: readonly string[], at?: 'key' | 'value'): SourcePos;
}

export interface ParsedYaml {
  documents: YamlDocument[];
  diagnostics: Diagnostic[];
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

export function parseYaml(file: string, text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const posAt = (offset: number): SourcePos => {
    const { line, col } = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { file, line, column: col };
  };
  const diagnostics: Diagnostic[] = [];
  const documents: YamlDocument[] = [];
  // size, nesting and aliases first: the YAML library pays for each of them in time and memory
  const hit = checkYamlLimits(text);
  if (hit) {
    const before = text.slice(0, hit.offset);
    const line = before.split('\n').length;
    const column = hit.offset - (before.lastIndexOf('\n') + 1) + 1;
    diagnostics.push({
      code: 'YAML_LIMIT',
      message: hit.message,
      severity: 'error',
      pos: { file, line, column },
    });
    return { documents, diagnostics };
  }
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  let syntaxErrors = 0;
  list.forEach((doc, index) => {
    for (const err of doc.errors) {
      syntaxErrors += 1;
      if (syntaxErrors > MAX_SYNTAX_ERRORS) continue;
      diagnostics.push({
        code: 'YAML_SYNTAX',
        // the position is in the diagnostic already: drop yaml's own "at line L, column C:";
        // and the file's text it quotes: content that is not YAML is never echoed
        message: withoutQuotedText(
          (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, ''),
        ),
        severity: 'error',
        pos: posAt(err.pos[0]),
      });
    }
    if (doc.errors.length > 0 || doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      // the library counts what aliases expand to, and stops at the same limit
      const bomb = err instanceof ReferenceError && err.message.startsWith('Excessive alias count');
      diagnostics.push({
        code: bomb ? 'YAML_LIMIT' : 'YAML_SYNTAX',
        message: bomb
          ? `the YAML's aliases expand to more than ${MAX_YAML_ALIASES} copies: it is not read`
          : `cannot read the document: ${(err as Error).message}`,
        severity: 'error',
        pos: posAt(doc.contents.range?.[0] ?? 0),
      });
      return;
    }
    const locate = (path: readonly string[], at: 'key' | 'value' = 'value'): SourcePos => {
      let node: unknown = doc.contents;
      let keyNode: Node | null = null;
      let best = (doc.contents as Node).range?.[0] ?? 0;
      for (const seg of path) {
        if (isAlias(node)) node = node.resolve(doc);
        if (isMap(node)) {
          const pair = node.items.find((p) => keyText(p.key) === seg);
          if (!pair) break;
          keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : null;
          node = pair.value;
        } else if (isSeq(node)) {
          const item = node.items[Number(seg)];
          if (item === undefined) break;
          keyNode = null;
          node = item;
        } else break;
        const keyStart = keyNode?.range?.[0];
        const valueStart = (node as Node | null)?.range?.[0];
        const emptyValue = node === null || (isScalar(node) && node.value === null && keyStart !== undefined);
        if (keyStart !== undefined && (at === 'key' || emptyValue)) best = keyStart;
        else if (valueStart !== undefined) best = valueStart;
        else if (keyStart !== undefined) best = keyStart;
      }
      return posAt(best);
    };
    documents.push({ file, index, value, locate });
  });
  if (syntaxErrors > MAX_SYNTAX_ERRORS) {
    diagnostics.push({
      code: 'YAML_SYNTAX',
      message: `${syntaxErrors - MAX_SYNTAX_ERRORS} more syntax error(s) in this file not shown`,
      severity: 'error',
      pos: posAt(text.length),
    });
  }
  return { documents, diagnostics };
}
