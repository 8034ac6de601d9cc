import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.ts';

/**
 * The Grafana dashboard in deploy/ may only ask for series the collector
 * exports, so no panel survives a rename; and it shows every one of them. The
 * names come from the collector's own registry (the HELP/TYPE lines it writes
 * even with nothing to report), not from a list kept here.
 */

interface Panel {
  title: string;
  type: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string }>;
}

const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/bellows-dashboard.json', import.meta.url), 'utf8'));

/** Metric family → the series names PromQL can ask for: a histogram's _bucket, _sum and _count, anything else its own name. */
async function exportedFamilies(): Promise<Map<string, string[]>> {
  const text = await createMetrics([]).render();
  const families = new Map<string, string[]>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    families.set(name, type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => name + s) : [name]);
  }
  return families;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names in a PromQL expression: what is left once strings, Grafana
 * variables, durations, label matchers and label lists are taken out, and
 * functions (a name before a parenthesis) and keywords are skipped.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\$\{?\w+\}?/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('deploy/grafana/bellows-dashboard.json', () => {
  it('reads how metric names are found in an expression', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, run) (rate(a_bucket{target=~"$target", x="b_c"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNames('100 * sum by (run) (x_done) / clamp_min(sum by (run) (x_total), 1e6) and on(run) y offset 5m == 1')).toEqual(['x_done', 'x_total', 'y']);
  });

  it('asks only for series the collector exports, in every panel, and shows every metric the collector has', async () => {
    const families = await exportedFamilies();
    const exported = new Set([...families.values()].flat());
    expect(exported.size).toBeGreaterThan(10);
    const used = new Set<string>();
    const withQueries = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
    expect(withQueries.length).toBeGreaterThan(0);
    for (const panel of withQueries) {
      const exprs = (panel.targets ?? []).map((t) => t.expr ?? '');
      expect(exprs.length, `panel "${panel.title}" has queries`).toBeGreaterThan(0);
      for (const expr of exprs) {
        const names = metricNames(expr);
        expect(names.length, `panel "${panel.title}": ${expr}`).toBeGreaterThan(0);
        for (const name of names) {
          expect(exported.has(name), `panel "${panel.title}" asks for ${name}, which the collector does not export`).toBe(true);
          used.add(name);
        }
      }
    }
    const unshown = [...families].filter(([, series]) => !series.some((s) => used.has(s))).map(([family]) => family);
    expect(unshown, 'metrics no panel shows').toEqual([]);
  });

  it('takes its data source and targets from variables: ${datasource} (Prometheus) and target', async () => {
    const variables = dashboard.templating.list as Array<{ name: string; type: string; query: unknown; datasource?: { uid: string } }>;
    const datasource = variables.find((v) => v.name === 'datasource');
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const target = variables.find((v) => v.name === 'target');
    expect(target?.datasource?.uid).toBe('${datasource}');
    const exported = new Set([...(await exportedFamilies()).values()].flat());
    const query = JSON.stringify(target?.query);
    const asked = /label_values\((\w+), *target\)/.exec(query);
    expect(asked, query).not.toBeNull();
    expect(exported.has(asked![1])).toBe(true);
    for (const panel of allPanels(dashboard.panels)) {
      expect(panel, panel.title).toMatchObject({ datasource: { uid: '${datasource}' } });
      for (const t of panel.targets ?? []) expect(t.expr, panel.title).toContain('target=~"$target"');
    }
  });
});
