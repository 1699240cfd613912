// Tiny tasks for the async benchmark: the CEP worker pool (named exports) and piscina (default).
export function noop() {
  return undefined;
}
export default function () {
  return 0;
}
