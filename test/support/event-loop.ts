/**
 * Runs `work` while a 5 ms timer watches the event loop; returns the longest the timer went without running,
 * which is how long the work held the loop at a stretch.
 */
export async function worstEventLoopGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worstGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return worstGap;
}
