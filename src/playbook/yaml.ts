import YAML, { LineCounter, type Document } from 'yaml';
import { printableLine, shown } from '../util/printable.ts';

/**
 * The tags of YAML 1.2's core schema: plain data. Any other tag (`!!python/object`,
 * `!!binary`, a custom `!tag`) asks a loader to build something a playbook never
 * holds; the yaml package would only warn and keep the text, so a playbook meant
 * for another tool, or written to probe this one, would be applied as if plain.
 */
const PLAIN_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** A YAML problem, said in one line; the caller prefixes the file. */
export class YamlError extends Error {}

/** The yaml package's error as one line, without the source excerpt it goes on to show. */
function syntaxError(message: string): YamlError {
  return new YamlError(`not valid YAML: ${printableLine(message.split('\n')[0].replace(/:\s*$/, ''), 160)}`);
}

function refuseTags(doc: Document, lines: LineCounter): void {
  YAML.visit(doc, {
    Node(_key, node) {
      if (node.tag && !PLAIN_TAGS.has(node.tag)) {
        const at = node.range ? ` (on the value at line ${lines.linePos(node.range[0]).line})` : '';
        const tag = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
        throw new YamlError(`YAML tag ${shown(tag)}${at} is not allowed: a playbook is plain data (strings, numbers, booleans, lists, mappings)`);
      }
    },
  });
}

/** Parses exactly one YAML document of plain data; anything the yaml package errs or warns about is refused. */
export function parseYaml(text: string): unknown {
  const lines = new LineCounter();
  // logLevel 'silent': warnings are ours to refuse, not the process's to print.
  const docs = YAML.parseAllDocuments(text, { logLevel: 'silent', version: '1.2', schema: 'core', uniqueKeys: true, lineCounter: lines });
  if (docs.length > 1) throw new YamlError(`${docs.length} YAML documents in one file; a playbook is one document`);
  if (docs.length === 0) return null; // an empty file
  const [doc] = docs;
  if (doc.errors[0]) throw syntaxError(doc.errors[0].message);
  refuseTags(doc, lines);
  if (doc.warnings[0]) throw syntaxError(doc.warnings[0].message);
  try {
    return doc.toJS();
  } catch (err) {
    // e.g. too many alias expansions, which the yaml package takes for a resource-exhaustion attack
    throw syntaxError((err as Error).message);
  }
}
