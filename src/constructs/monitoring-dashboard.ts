import { Panel } from './monitoring-rules';

/** The Grafana dashboard model (schemaVersion 39) of `panels`, two per row, over a chosen Prometheus data source. */
export function dashboardJson(title: string, uid: string, panels: readonly Panel[]): Record<string, unknown> {
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  return {
    title,
    uid,
    tags: ['agent-cancellation', 'argo-events'],
    timezone: 'utc',
    schemaVersion: 39,
    editable: false,
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }],
    },
    panels: panels.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      description: p.description,
      datasource,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' } },
      targets: p.targets.map((t, j) => ({
        datasource,
        refId: String.fromCharCode(65 + j),
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
}
