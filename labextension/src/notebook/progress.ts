/**
 * What the notebook host reports of a run's output (`tool_progress`, pure):
 * the output itself, unless it is too large for one socket message, in which
 * case a stream keeps its tail and rich data is replaced by a short note, so a
 * huge plot can never close the host's socket (the server's frame limit).
 */
import { Output } from './cells';

/** Largest output (characters of JSON) reported as it is. */
export const MAX_REPORTED_OUTPUT = 1_000_000;

export function reportedOutput(output: Output, limit = MAX_REPORTED_OUTPUT): Output {
  const size = JSON.stringify(output).length;
  if (size <= limit) {
    return output;
  }
  if (output.output_type === 'stream') {
    const text = String(output.text ?? '');
    const keep = Math.max(0, Math.floor(limit / 2));
    return { ...output, text: `[… ${text.length - keep} characters omitted …]\n${text.slice(-keep)}` };
  }
  if (output.output_type === 'error') {
    return { ...output, traceback: [`[traceback of ${size} characters omitted]`] };
  }
  const mimes = Object.keys((output.data ?? {}) as object).sort().join(', ');
  const mb = (size / 1_000_000).toFixed(1);
  const { data: _data, ...rest } = output;
  return {
    ...rest,
    metadata: {},
    data: { 'text/plain': `[${mimes || 'an'} output of ${mb} MB, too large to show in the timeline]` }
  };
}
