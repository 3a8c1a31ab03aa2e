/**
 * The pace's control law, and every constant it has. Change a number here and run `npm run bench`
 * (every row) before and after: a gain on one limit shape that costs another is not a gain.
 *
 * The law is AIMD, as TCP congestion control and the AWS SDKs' adaptive retry use it, on a rate:
 *
 * - Start: `startRate`, doubling every `startDoublingMs` (slow start) until the first refusal.
 * - Decrease: a refusal cuts the rate to `decrease` × what the server took over the last
 *   `windowMs` (never above the rate itself). Refusals of requests sent before the cut are the
 *   same event. The rate the server refused at (`ceiling of the probe`) is remembered.
 * - Increase: from the cut the rate grows by a step of `probeStep` requests per second that
 *   doubles every `probeDoublingMs`: additive, so two senders that share no memory (queue-mode
 *   workers) converge on equal shares, and accelerating, so a limit that rose is found in seconds.
 *   Never beyond `headroom` × what was really sent lately, and, when the work left would be done
 *   within `probeWorthMs`, never beyond the rate the server last refused at.
 * - Closed: refused again although nothing sent since the cut was taken, the server is not taking
 *   anything: every request waits for its Retry-After, or for `closedPauseMs` doubling up to
 *   `closedPauseCapMs` when it gives none.
 *
 * Beside the law, what the server announces is used as it is: a stated quota and window cap the
 * rate, an exhausted quota waits for its reset, and a cap on requests in flight is kept to.
 */
export const PACE_TUNING = {
	/**
	 * Requests per second before anything is known: a tenth of the 500/s that Concurrency 10 at
	 * 20 ms could send, so that the first refusals meet few requests in flight.
	 */
	startRate: 50,
	/** Requests let through at once at the very start (one per default Concurrency slot). */
	startBurst: 10,
	/**
	 * Slow start doubles this often: from 50/s, 100/s is reached in 0.2 s and 400/s in 0.6 s, while
	 * each step still sees the answers (20–100 ms) of the step before it.
	 */
	startDoublingMs: 200,
	/** The window the server's rate is measured over: limits count "per second". */
	windowMs: 1000,
	/**
	 * A cut keeps this share of what the server took. Measured, not guessed: 0.9 gives up a tenth,
	 * which the probe wins back within a second, and leaves room for what was in flight.
	 */
	decrease: 0.95,
	/** The probe's first step, in requests per second: the same for every sender (fairness). */
	probeStep: 1,
	/**
	 * The probe's step doubles this often: from a cut at 90/s it is back at 100/s in about a
	 * second, and a limit that tripled is found within two.
	 */
	probeDoublingMs: 300,
	/**
	 * The rate never grows beyond this multiple of what was really sent lately (the AWS SDKs use
	 * the same 2): a rate not used (few items, a busy process) cannot grow into a burst later.
	 */
	headroom: 2,
	/** The lowest rate: one request every two seconds still finds out when the server has room. */
	lowestRate: 0.5,
	/**
	 * Beyond the rate last refused, a probe costs a refusal, and the refused request waits a whole
	 * Retry-After (one second at least). With less work left than this, it cannot win that back.
	 */
	probeWorthMs: 1200,
	/** The first wait when the server takes nothing and gives no Retry-After; doubles each time. */
	closedPauseMs: 250,
	/** ... up to this, so that a server that comes back is found within half a minute. */
	closedPauseCapMs: 30_000,
	/** Fewer requests than this in the window say too little to measure a rate from. */
	minSamples: 8,
	/**
	 * A cap on requests in flight that held this long without a refusal is tried one higher, and
	 * twice as long after each time that one more was refused: a cap that rose is found.
	 */
	capProbeMs: 2000,
	/**
	 * Refusals below a number in flight, as a share of the answers there, that still allow a cap
	 * at it: under a cap they are none but for answers still on their way back when the next
	 * request went; under a rate they are as common as above it.
	 */
	capRefusedBelow: 0.1,
} as const;
