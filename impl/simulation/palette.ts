/**
 * The report's colours: a qualitative palette that colour-blind readers can tell apart (Okabe & Ito,
 * "Color Universal Design", 2008), a fixed colour and name for each NIST SP 800-57 key state, and a
 * sequential scale for the flash-wear heat map. No chart relies on colour alone: every series is
 * also named in its legend, every heat-map cell carries its count in a tooltip.
 * @module
 */
import type { KeyState } from '../../model/keyLifecycle.ts';

/** Okabe–Ito's eight colours, black last. */
const SERIES_COLOURS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
] as const;

/** The `i`-th series colour (cycling). */
export function seriesColour(i: number): string {
  return SERIES_COLOURS[i % SERIES_COLOURS.length] as string;
}

/**
 * Each key state's name as NIST SP 800-57 Pt 1 Rev 5 §7.1 writes it ("Destroyed Compromised" is
 * KMIP 2.1 §3.31's name for the state the paper also counts), and its colour: green for the one
 * state that protects, warm colours for compromise, greys for the end of life.
 */
export const KEY_STATE_STYLE: Readonly<Record<KeyState, { readonly label: string; readonly colour: string }>> = {
  preActivation: { label: 'Pre-activation', colour: '#56B4E9' },
  active: { label: 'Active', colour: '#009E73' },
  suspended: { label: 'Suspended', colour: '#F0E442' },
  deactivated: { label: 'Deactivated', colour: '#0072B2' },
  compromised: { label: 'Compromised', colour: '#D55E00' },
  destroyed: { label: 'Destroyed', colour: '#999999' },
  destroyedCompromised: { label: 'Destroyed Compromised', colour: '#CC79A7' },
};

/** Colour of a never-erased sector: apart from the scale, so "never" and "a few" differ at a glance. */
export const NEVER_ERASED = '#EEF0F3';

/** Stops of the heat map's scale, light to dark (viridis, reversed: van der Walt & Smith, 2015). */
const HEAT_STOPS: readonly (readonly [number, number, number])[] = [
  [0xfd, 0xe7, 0x25],
  [0x5e, 0xc9, 0x62],
  [0x21, 0x91, 0x8c],
  [0x3b, 0x52, 0x8b],
  [0x44, 0x01, 0x54],
];

/** The scale's colour at `t` in [0, 1] (clamped), interpolated between its stops. */
export function heatColour(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (HEAT_STOPS.length - 1);
  const i = Math.min(HEAT_STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = HEAT_STOPS[i] as readonly [number, number, number];
  const b = HEAT_STOPS[i + 1] as readonly [number, number, number];
  const hex = a.map((c, k) =>
    Math.round(c + ((b[k] as number) - c) * f)
      .toString(16)
      .padStart(2, '0'),
  );
  return `#${hex.join('')}`;
}

/** The heat map's stops as `[offset, colour]`, for the legend's gradient. */
export function heatStops(): (readonly [number, string])[] {
  return HEAT_STOPS.map((_, i) => [i / (HEAT_STOPS.length - 1), heatColour(i / (HEAT_STOPS.length - 1))] as const);
}
