import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr, so stdout stays the command's result. Off a
 * terminal it still prints (a line every second and the final state), which
 * is what logs and tests see.
 */
export function progressBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar({
    format: '{bar} {percentage}% | {value}/{total} | {message}',
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 1000,
  }, cliProgress.Presets.shades_classic);
}
