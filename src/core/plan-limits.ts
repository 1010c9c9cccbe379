/**
 * How much of a reply or plan Jarvis reads, in one place. Every reply and plan comes from a party we do not
 * control (an LLM that may be prompt-injected, an HTTP client, a plan file), and the reading path has steps
 * that are more than linear (unfolding lists, cycle search, did-you-mean); these bounds are checked before
 * those steps so that no input can make planning slow, deep or large. Each bound is far above what a real
 * plan needs: HuggingGPT's plans have a handful of tasks, a few short arguments and a depth of four.
 */

/** Characters of an LLM reply (or plan text) read at all: ~25k tokens, above any planning context. */
export const MAX_REPLY_CHARS = 100_000;

/**
 * Nesting of brackets in a reply, and of arrays and objects in a plan. A plan is a list of tasks whose
 * arguments may be lists (depth 4; TaskBench's `{"task_nodes": [{"arguments": [{"from": ...}]}]}` is 5).
 */
export const MAX_NESTING_DEPTH = 16;

/** Tasks in a plan, counted as listed and again while lists of inputs are unfolded into one task each. */
export const MAX_TASKS = 64;

/** Named arguments (or bare list items) of one task; a task takes at most one text, image, audio and video. */
export const MAX_ARGUMENTS_PER_TASK = 16;

/**
 * Characters of one argument of a plan, as long as a whole reply may be: the planner reads each text several
 * times (references, lists, kinds). Experts may take less; that is their limit, checked when they run.
 */
export const MAX_ARGUMENT_CHARS = MAX_REPLY_CHARS;

/** Values in one argument (a list of files, "<GENERATED>-0,<GENERATED>-1"); each becomes a task. */
export const MAX_ITEMS_PER_ARGUMENT = 32;

/**
 * Characters of a task name. The longest name in the vocabulary has 30; longer names are refused without
 * a did-you-mean, whose cost grows with the name's length and word count.
 */
export const MAX_TASK_NAME_CHARS = 64;

/** Did-you-mean searches per plan (each compares a name with the whole vocabulary); later unknown names get none. */
export const MAX_SUGGESTIONS = 8;

/**
 * Characters the tolerant JSON reader may look at, as a multiple of the text's length: each bracketed segment
 * it tries costs its length (scan, parse, repair), so a reply full of unclosed brackets cannot make the
 * reader quadratic. Past this, it gives up with a clear error.
 */
export const MAX_SCAN_FACTOR = 2;

/** Bracketed segments the tolerant reader tries in one reply ("[sic]" and the like before the JSON). */
export const MAX_SEGMENTS = 200;
