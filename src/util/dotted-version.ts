// Dotted version numbers ("2.3.4", a stemcell's "1.10"), compared number by number: "2.10" is
// after "2.9", and a missing number counts as 0, so "2.3" equals "2.3.0".

/** -1, 0 or 1 as `a` comes before, equals or comes after `b`. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d > 0 ? 1 : -1;
  }
  return 0;
}

/** Whether `version` is `minimum` or later. */
export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}
