import { RULES } from './index.ts';
import type { Finding, Location, Severity } from './rule.ts';

/** `file:operations[3].sql.up` */
export function where(location: Location): string {
  return `${location.file}:${location.field}`;
}

/** One line per finding: `file:field  severity  rule  message; safe: …`. */
export function humanLine(finding: Finding): string {
  return `${where(finding.location)}  ${finding.severity}  ${finding.rule}  ${finding.message}; safe: ${finding.safe}`;
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

/**
 * SARIF 2.1.0, as code scanning reads it: every rule in the driver, every
 * finding a result at its playbook file. A playbook field is not a line, so
 * the field is the result's logical location and is named in its message.
 */
export function sarif(findings: Finding[], version: string): Record<string, unknown> {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'bellows lint',
            version,
            informationUri: 'https://bellows.dev',
            rules: RULES.map((r) => ({
              id: r.id,
              shortDescription: { text: r.description },
              defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: RULES.findIndex((r) => r.id === f.rule),
          level: SARIF_LEVEL[f.severity],
          message: { text: `${f.location.field}: ${f.message}; safe: ${f.safe}` },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: f.location.file } },
              logicalLocations: [{ fullyQualifiedName: f.location.field, kind: 'member' }],
            },
          ],
        })),
      },
    ],
  };
}
