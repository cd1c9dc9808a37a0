/**
 * The report's style sheet, inline in the page (no file, font or image is fetched: the report opens
 * offline). System fonts; a two-column grid on a laptop screen (1366 px wide and up to it), one
 * column below 1100 px; drawings scale to their column's width.
 * @module
 */

/** The CSS. No `<` or `&` in it, so it is also well-formed XML character data. */
export const REPORT_CSS = `
:root {
  color-scheme: light;
  --ink: #1d2330;
  --muted: #5b6474;
  --line: #d9dde4;
  --pass: #0a7a45;
  --fail: #b3261e;
  --warn: #8a5a00;
}
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink);
  background: #f5f6f8;
}
main { max-width: 1400px; margin: 0 auto; padding: 16px 20px 40px; }
header.report {
  display: grid;
  grid-template-columns: 1fr auto;
  gap: 8px 24px;
  align-items: start;
  background: #fff;
  border: 1px solid var(--line);
  border-radius: 8px;
  padding: 16px 20px;
}
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 8px 0 2px; }
.subtitle { color: var(--muted); margin: 0; }
.verdict { text-align: right; }
.badge {
  display: inline-block;
  font-weight: 700;
  font-size: 22px;
  letter-spacing: 0.04em;
  padding: 4px 14px;
  border-radius: 6px;
  color: #fff;
}
.verdict-pass .badge { background: var(--pass); }
.verdict-fail .badge { background: var(--fail); }
.verdict-incomplete .badge { background: var(--warn); }
.verdict p { margin: 6px 0 0; max-width: 36em; }
dl.config { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 4px 0 0; }
dl.config div { display: flex; gap: 6px; }
dl.config dt { color: var(--muted); }
dl.config dd { margin: 0; font-weight: 600; }
ul.totals {
  grid-column: 1 / -1;
  list-style: none;
  margin: 8px 0 0;
  padding: 0;
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(128px, 1fr));
  gap: 8px;
}
ul.totals li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; background: #fafbfc; }
ul.totals .value { display: block; font-size: 20px; font-weight: 700; }
ul.totals .label { color: var(--muted); font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; margin-top: 16px; }
section.chart {
  background: #fff;
  border: 1px solid var(--line);
  border-radius: 8px;
  padding: 12px 16px;
  min-width: 0;
}
section.wide { grid-column: 1 / -1; }
.note { color: var(--muted); margin: 0 0 6px; font-size: 14px; }
.pair { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
svg.drawing { display: block; width: 100%; height: auto; font-size: 12px; fill: var(--ink); }
svg text { fill: var(--ink); }
svg .axis-title { font-size: 12px; fill: var(--muted); }
svg .grid { stroke: #e6e9ee; stroke-width: 1; }
svg .axis-line, svg .tick { stroke: #8a93a3; stroke-width: 1; }
svg .area { fill-opacity: 0.85; stroke-width: 0.5; }
svg .series { stroke-width: 2; }
svg .series.dashed { stroke-dasharray: 6 4; }
svg .bar-value, svg .row-max, svg .column-note text, svg .column-head { fill: var(--muted); font-size: 11px; }
svg .column-note path { stroke: #8a93a3; }
svg .x-axis text, svg .y-axis text { font-size: 11px; }
ul.legend {
  list-style: none;
  display: flex;
  flex-wrap: wrap;
  gap: 2px 16px;
  padding: 0;
  margin: 4px 0 0;
  font-size: 13px;
}
ul.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; }
.swatch.dashed { height: 0; border-top: 3px dashed; border-radius: 0; width: 20px; }
.legend-value { color: var(--muted); }
table.verdicts { border-collapse: collapse; min-width: 50%; margin: 6px 0; }
table.verdicts th, table.verdicts td {
  text-align: left;
  padding: 4px 14px 4px 0;
  border-bottom: 1px solid var(--line);
}
table.verdicts .number { text-align: right; font-variant-numeric: tabular-nums; }
tr.verdict-held td:last-child { color: var(--pass); font-weight: 600; }
tr.verdict-violated td:last-child { color: var(--fail); font-weight: 700; }
tr.verdict-not-checked td:last-child { color: var(--warn); font-weight: 600; }
ol.violations { margin: 6px 0; padding-left: 2em; max-height: 420px; overflow: auto; font-size: 14px; }
ol.violations .when { color: var(--muted); }
code {
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 13px;
  background: #f0f2f5;
  padding: 0 3px;
  border-radius: 3px;
  word-break: break-all;
}
.empty, .none { color: var(--muted); }
footer { color: var(--muted); font-size: 13px; margin-top: 16px; }
@media (max-width: 1100px) {
  .charts, .pair { grid-template-columns: minmax(0, 1fr); }
  header.report { grid-template-columns: 1fr; }
  .verdict { text-align: left; }
}
@media print { body { background: #fff; } section.chart { break-inside: avoid; } }
`;
