/**
 * `cep store verify <dir>` and `cep store repair <dir>`: check a flatfile store as an open
 * would (changing nothing), or repair a damaged one (every branch cut back to the beat before
 * the first damage, the cut bytes kept in `<dir>/quarantine/<n>/`). One line per cut, no stack
 * traces; exit 0 when the store opens (after the repair), 1 when it does not.
 */
import { openFlatfileStore, verifyFlatfileStore } from '../persistence/flatfile/index.js';
import { recoveryNotes } from '../runtime/persistent.js';

export const storeUsage = `usage: cep store verify <dir>   check a store, change nothing (exit 1 when damaged)
       cep store repair <dir>   cut a damaged store back to its last consistent beat; the cut bytes go to <dir>/quarantine/`;

export async function storeCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [sub, dir, ...rest] = args;
  if ((sub !== 'verify' && sub !== 'repair') || dir === undefined || rest.length > 0) {
    err(storeUsage);
    return 2;
  }
  try {
    if (sub === 'verify') {
      const report = verifyFlatfileStore(dir);
      for (const d of report.damage ?? []) out(`damage: ${d.file}${d.offset >= 0 ? ` at byte ${d.offset}` : ''} (${d.reason}${d.fromBeat >= 0 ? `, beat ${d.fromBeat}` : ''})`);
      for (const note of recoveryNotes(report)) out(`would cut: ${note.text}`);
      const damaged = (report.damage ?? []).length > 0;
      const repair = report.unrepairable !== undefined ? `no repair can fix it: ${report.unrepairable}` : `a repair would keep beats up to ${report.beat} (cep store repair ${dir})`;
      out(damaged ? `damaged: ${repair}` : `ok: beat ${report.beat}, ${report.scannedBytes} bytes verified`);
      return damaged ? 1 : 0;
    }
    const store = openFlatfileStore(dir, { repair: true });
    const report = store.recovery;
    await store.close();
    for (const note of recoveryNotes(report)) out(`cut: ${note.text}`);
    out(`${report.quarantine === undefined ? 'nothing to repair' : `repaired: quarantine ${report.quarantine}`}; the store is at beat ${report.beat}`);
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    err(`cep store ${sub}: ${code === undefined ? '' : `${code}: `}${(e as Error)?.message ?? String(e)}`);
    return 1;
  }
}
