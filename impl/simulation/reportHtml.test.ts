import { describe, expect, test } from 'vitest';
import { findAll, type Node, parseMarkup, textOf } from './parseMarkup.testkit.ts';
import { OPERATION_BARS, sdWritesNote } from './reportCharts.ts';
import { REPORT_CHARTS, renderReportHtml } from './reportHtml.ts';
import type { SimulationReport } from './simulationReport.ts';
import { HOSTILE, syntheticReport } from './syntheticReport.testkit.ts';
import { ATTACK_KINDS, nothingToAttackOperation } from './attacks.ts';
import { formatBytes } from './chartScale.ts';

/** The sections every report has, by `data-chart`: the renderer's list, checked against the page. */
const CHARTS = Object.keys(REPORT_CHARTS);

function page(report: SimulationReport): { html: string; root: Node } {
  const html = renderReportHtml(report);
  const { root, errors } = parseMarkup(html);
  expect(errors).toEqual([]);
  if (root === null) throw new Error('no root element');
  return { html, root };
}

const byName = (name: string) => (n: Node) => n.name === name;
const chart = (root: Node, name: string): Node => {
  const found = findAll(root, (n) => n.attributes['data-chart'] === name);
  expect(found, name).toHaveLength(1);
  return found[0] as Node;
};

describe('report.html', () => {
  const variants: Record<string, SimulationReport> = {
    default: syntheticReport(),
    'hostile profile with violations': syntheticReport({ violations: true, config: { profile: 'hostile', seed: 7 } }),
    'hostile names': syntheticReport({ violations: true, hostileNames: true }),
    'one day, one user, one group': syntheticReport({ config: { days: 1, users: 1, groups: 1 } }),
    'a year, 60 users': syntheticReport({ config: { days: 365, users: 60, groups: 20, seed: 3 } }),
  };

  test.each(Object.keys(variants))('%s: is well-formed polyglot markup, an HTML5 page that XML parses', (name) => {
    const { html, root } = page(variants[name] as SimulationReport);
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(root.name).toBe('html');
    expect(root.attributes['xmlns']).toBe('http://www.w3.org/1999/xhtml');
    expect(findAll(root, byName('meta')).some((m) => m.attributes['charset'] === 'utf-8')).toBe(true);
    // HTML reads `<div/>` as an open tag: only void elements and SVG shapes may close themselves.
    const selfClosed = [...html.matchAll(/<([a-zA-Z]+)[^<>]*\/>/g)].map((m) => m[1]);
    expect(new Set(selfClosed)).toEqual(
      new Set(selfClosed.filter((n) => ['meta', 'rect', 'line', 'path', 'polyline', 'stop'].includes(n as string))),
    );
  });

  test.each(Object.keys(variants))(
    '%s: every chart is there, with a title, axis titles with units, and a drawing',
    (name) => {
      const report = variants[name] as SimulationReport;
      const { root } = page(report);
      for (const name of CHARTS) {
        const section = chart(root, name);
        expect(section.attributes['id']).toBe(`chart-${name}`);
        expect(textOf(findAll(section, byName('h2'))[0] as Node)).not.toBe('');
      }
      for (const name of [
        'keys-by-state',
        'update-traffic',
        'refusals-stale',
        'flash-wear',
        'hsm-time',
        'operations',
      ]) {
        const svgs = findAll(chart(root, name), byName('svg'));
        expect(svgs.length, name).toBeGreaterThan(0);
        for (const svg of svgs) {
          expect(svg.attributes['viewBox']).toMatch(/^0 0 \d+ \d+$/);
          expect(textOf(findAll(svg, byName('title'))[0] as Node)).not.toBe('');
          const axisTitles = findAll(svg, (n) => n.attributes['class'] === 'axis-title').map(textOf);
          expect(axisTitles.length, name).toBeGreaterThan(0);
          expect(axisTitles.every((t) => t.trim() !== '')).toBe(true);
        }
      }
      const axisText = (name: string) =>
        findAll(chart(root, name), (n) => n.attributes['class'] === 'axis-title')
          .map(textOf)
          .join(' | ');
      expect(axisText('keys-by-state')).toMatch(/keys \| simulated day \(day 1 = \d{4}-\d\d-\d\d\)/);
      expect(axisText('update-traffic')).toMatch(/files per day/);
      expect(axisText('update-traffic')).toMatch(/(B|KiB|MiB) per day/);
      expect(axisText('hsm-time')).toMatch(/HSM time \((s|ms|µs), whole run\)/);
      expect(axisText('flash-wear')).toMatch(/flash sector .*erases \(colour scale, square root\)/);
      expect(axisText('refusals-stale')).toMatch(/users \(of \d+\)/);
    },
  );

  test('keys by state: one series per NIST state, in the legend with the count at the end of the run', () => {
    const report = variants['default'] as SimulationReport;
    const { root } = page(report);
    const legend = findAll(chart(root, 'keys-by-state'), byName('li')).map(textOf);
    expect(legend).toEqual([
      `Pre-activation${report.totals.keysByState.preActivation}`,
      `Active${report.totals.keysByState.active}`,
      `Suspended${report.totals.keysByState.suspended}`,
      `Deactivated${report.totals.keysByState.deactivated}`,
      `Compromised${report.totals.keysByState.compromised}`,
      `Destroyed${report.totals.keysByState.destroyed}`,
      `Destroyed Compromised${report.totals.keysByState.destroyedCompromised}`,
    ]);
    expect(
      findAll(chart(root, 'keys-by-state'), (n) => n.name === 'path' && n.attributes['class'] === 'area'),
    ).toHaveLength(7);
  });

  test('the heat map has a cell per device and sector, its count in a tooltip, and a colour scale', () => {
    const report = variants['default'] as SimulationReport;
    const { root } = page(report);
    const map = chart(root, 'flash-wear');
    const cells = findAll(map, (n) => n.name === 'rect' && findAll(n, byName('title')).length === 1);
    expect(cells).toHaveLength(report.flashWear.length * 24);
    const admin = report.flashWear.find((w) => w.device === 'admin');
    expect(cells.map(textOf)).toContain(`admin, sector 12: ${admin?.sectorErases[12]} erases`);
    // The SD cards' writes, from the report: the admin's, and the most written user card.
    const days = report.days.length;
    const most = Math.max(...report.flashWear.filter((w) => w.role === 'user').map((w) => w.sdSectorsWritten));
    const who = report.flashWear.find((w) => w.role === 'user' && w.sdSectorsWritten === most)?.device;
    const adminBytes = (admin?.sdSectorsWritten ?? 0) * 512;
    expect(sdWritesNote(report)).toBe(
      ` SD cards: ${formatBytes(adminBytes)} written to the admin's (${formatBytes(adminBytes / days)} a day), ` +
        `at most ${formatBytes(most * 512)} to a user's (${who}, ${formatBytes((most * 512) / days)} a day).`,
    );
    expect(textOf(chart(root, 'flash-wear'))).toContain(sdWritesNote(report).trim().slice(0, 30));
    expect(findAll(map, byName('linearGradient'))).toHaveLength(1);
    expect(textOf(map)).toContain('never erased');
    expect(textOf(map)).toContain(`${report.totals.maxSectorErases}`);
  });

  test('operations by kind: a hostile run shows every attack kind as its own bar, none summed into others', () => {
    const base = variants['default'] as SimulationReport;
    // Every kind the simulation counts (runSimulation.ts, simulationWorld.ts), attacks included.
    const kinds = [
      ...['add-user', 'add-group', 'add-member', 'remove-member', 'delete-user', 'provision', 'replace-device'],
      ...['add-key', 'activate-key', 'compromise-key', 'destroy-key', 'publish', 'collect-acks', 'resync'],
      ...['sync', 'encrypt', 'decrypt', 'reprotect', 'power-cut:publish', 'power-cut:sync', 'hand-back-device'],
      ...ATTACK_KINDS.map((k) => `attack:${k}`),
      ...ATTACK_KINDS.map(nothingToAttackOperation),
    ];
    expect(OPERATION_BARS).toBeGreaterThanOrEqual(kinds.length);
    const operationsByKind = Object.fromEntries(kinds.map((k, i) => [k, 1000 - 30 * i]));
    const { root } = page({ ...base, totals: { ...base.totals, operationsByKind } });
    const shown = textOf(chart(root, 'operations'));
    for (const kind of kinds.filter((k) => k.startsWith('attack:'))) expect(shown, kind).toContain(kind.slice(0, 20));
    expect(shown).not.toMatch(/others/);
  });

  test('HSM time is cycles over the clock, in seconds', () => {
    const report = variants['default'] as SimulationReport;
    const { root } = page(report);
    const sync = (report.totals.hsmCycles['sync'] ?? 0) / report.totals.clockHz;
    const tips = findAll(chart(root, 'hsm-time'), byName('title')).map(textOf);
    expect(tips).toContain(
      `sync: ${Number(sync.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 3 })} s`,
    );
  });

  test('a clean run says PASS; a run with violations says FAIL, lists each violation, and marks the invariants', () => {
    const pass = page(variants['default'] as SimulationReport).root;
    const verdict = (root: Node) => findAll(root, (n) => n.attributes['id'] === 'verdict')[0] as Node;
    expect(verdict(pass).attributes['data-verdict']).toBe('pass');
    const checks = (variants['default'] as SimulationReport).config.days * 6;
    expect(textOf(verdict(pass))).toMatch(new RegExp(`^PASS.*${checks.toLocaleString('en-US')} checks, no violation`));
    expect(textOf(findAll(pass, (n) => n.attributes['id'] === 'violation-details')[0] as Node)).toBe(
      'No violation was recorded.',
    );
    const judged = (variants['default'] as SimulationReport).protectionsJudged;
    expect(textOf(findAll(pass, (n) => n.attributes['id'] === 'protections-judged')[0] as Node)).toMatch(
      new RegExp(
        `^smallest-group: ${judged.synced + judged.behind + judged.heartbeatOnly} protections judged: ` +
          `${judged.synced} synced, ${judged.behind} behind the model, ${judged.heartbeatOnly} by the heartbeat ` +
          'rule alone\\. ',
      ),
    );

    const report = variants['hostile profile with violations'] as SimulationReport;
    const fail = page(report).root;
    expect(verdict(fail).attributes['data-verdict']).toBe('fail');
    expect(textOf(verdict(fail))).toMatch(new RegExp(`^FAIL${report.violations} invariant violations`));
    const items = findAll(fail, (n) => n.name === 'ol' && n.attributes['class'] === 'violations').flatMap((ol) =>
      findAll(ol, byName('li')),
    );
    expect(items.map(textOf)).toEqual(
      report.violationDetails.map((v) => `day ${v.day} (${v.date}) ${v.invariant} after ${v.operation}: ${v.detail}`),
    );
    const rows = findAll(chart(fail, 'invariants'), byName('tr'))
      .slice(1)
      .map((tr) => findAll(tr, (n) => n.name === 'td' || n.name === 'th').map(textOf));
    for (const [name, tally] of Object.entries(report.invariants)) {
      expect(rows).toContainEqual([
        name,
        String(tally.checks),
        String(tally.violations),
        tally.violations > 0 ? 'violated' : 'held',
      ]);
    }
  });

  test('an invariant never checked makes the run INCOMPLETE, not PASS', () => {
    const report = syntheticReport();
    const { root } = page({
      ...report,
      invariants: { ...report.invariants, convergence: { checks: 0, violations: 0 } },
    });
    const verdict = findAll(root, (n) => n.attributes['id'] === 'verdict')[0] as Node;
    expect(verdict.attributes['data-verdict']).toBe('incomplete');
    expect(textOf(verdict)).toContain('never checked: convergence');
  });

  test('a run stopped early reads STOPPED with its day, in the verdict and the subtitle; with violations, FAIL', () => {
    const report = syntheticReport({ config: { days: 30 } });
    const stoppedEarly = { by: 'SIGINT', afterDay: 30 };
    const { root } = page({ ...report, config: { ...report.config, days: 365 }, stoppedEarly });
    const verdict = findAll(root, (n) => n.attributes['id'] === 'verdict')[0] as Node;
    expect(verdict.attributes['data-verdict']).toBe('incomplete');
    expect(textOf(verdict)).toMatch(/^STOPPEDStopped early \(SIGINT\) after day 30 of 365: no violation in the days/);
    const subtitle = findAll(root, (n) => n.attributes['class'] === 'subtitle')[0] as Node;
    expect(textOf(subtitle)).toContain('over 30 of 365 days (stopped early)');
    const failed = syntheticReport({ violations: true, config: { days: 30 } });
    const withViolations = page({ ...failed, config: { ...failed.config, days: 365 }, stoppedEarly }).root;
    const failVerdict = findAll(withViolations, (n) => n.attributes['id'] === 'verdict')[0] as Node;
    expect(failVerdict.attributes['data-verdict']).toBe('fail');
    expect(textOf(failVerdict)).toMatch(/\. Stopped early \(SIGINT\) after day 30 of 365\.$/);
  });

  test('text from the report stays text: markup, ampersands and control characters in names are inert', () => {
    const report = variants['hostile names'] as SimulationReport;
    const { html, root } = page(report);
    expect(html).not.toMatch(/<script|<img|<b>/i);
    for (const name of ['script', 'img', 'b']) expect(findAll(root, byName(name))).toEqual([]);
    const all = textOf(root);
    expect(all).toContain(HOSTILE.device);
    expect(all).toContain(HOSTILE.operation);
    expect(all).toContain(HOSTILE.detail);
    // U+0007 is no XML character: it is shown as U+FFFD, the rest of the reason as written.
    expect(all).toContain(HOSTILE.reason.replace('\u0007', '\ufffd'));
    expect(all).not.toContain('\u0007');
  });

  test('nothing is fetched: no script, no external reference, no import', () => {
    for (const report of Object.values(variants)) {
      const { html, root } = page(report);
      expect(html).not.toMatch(/<script|<link|<iframe|<object|<embed|@import/i);
      const fetching = ['src', 'href', 'xlink:href', 'srcset', 'action', 'formaction', 'poster', 'data', 'background'];
      const attributes = findAll(root, () => true).flatMap((n) => Object.keys(n.attributes));
      expect(attributes.filter((a) => fetching.includes(a) || a.startsWith('on'))).toEqual([]);
      expect([...html.matchAll(/url\(([^)]*)\)/g)].map((m) => m[1])).toEqual(['#wear-scale']);
      // The only addresses are the two namespace names, which nothing dereferences.
      expect(new Set(html.match(/[a-z]+:\/\/[^"\s)]*/gi))).toEqual(
        new Set(['http://www.w3.org/1999/xhtml', 'http://www.w3.org/2000/svg']),
      );
    }
  });

  test('the same report gives the same page; a laptop-width layout with system fonts', () => {
    expect(renderReportHtml(syntheticReport({ config: { seed: 9 } }))).toBe(
      renderReportHtml(syntheticReport({ config: { seed: 9 } })),
    );
    const html = renderReportHtml(variants['default'] as SimulationReport);
    expect(html).toContain('name="viewport" content="width=device-width, initial-scale=1"');
    expect(html).toMatch(/font: 15px\/1.45 system-ui/);
    expect(html).toMatch(/@media \(max-width: 1100px\)/);
  });

  test('a large fleet shows the admin and the 39 most worn devices in the heat map, and says so', () => {
    const report = syntheticReport({ config: { users: 80, groups: 10, days: 20 } });
    const { root } = page(report);
    const map = chart(root, 'flash-wear');
    const names = findAll(map, (n) => n.attributes['class'] === 'row-name').map((n) =>
      textOf(findAll(n, byName('title'))[0] as Node),
    );
    expect(names).toHaveLength(40);
    expect(names[0]).toBe('admin');
    expect(textOf(map)).toContain('the other 41 of 81 devices are no more worn than those shown');
    const worst = (d: string) => Math.max(...(report.flashWear.find((w) => w.device === d)?.sectorErases ?? []));
    const shown = Math.min(...names.slice(1).map(worst));
    const hidden = report.flashWear
      .filter((w) => w.role === 'user' && !names.includes(w.device))
      .map((w) => worst(w.device));
    expect(Math.max(...hidden)).toBeLessThanOrEqual(shown);
  });

  test('a run with no refusal, no traffic and no erase still renders every chart, saying what is empty', () => {
    const base = syntheticReport({ config: { days: 3 } });
    const quiet: SimulationReport = {
      ...base,
      days: base.days.map((d) => ({
        ...d,
        refusals: {},
        updates: { filesPublished: 0, bytesPublished: 0, filesApplied: 0, bytesApplied: 0 },
      })),
      totals: { ...base.totals, refusals: {}, hsmCycles: {}, operationsByKind: {} },
      flashWear: [],
    };
    const { root } = page(quiet);
    for (const name of CHARTS) chart(root, name);
    expect(textOf(chart(root, 'refusals-stale'))).toContain('No operation was refused.');
    expect(textOf(chart(root, 'hsm-time'))).toContain('None in this run.');
    expect(textOf(chart(root, 'flash-wear'))).toContain('No device reported its flash.');
  });
});
