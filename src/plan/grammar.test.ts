import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HUGGING_FACE_TASKS, TASK_NAMES } from '../core/tasks.js';
import { MAX_GRAMMAR_TASKS, PlanGrammar, planGrammarSteps } from './grammar.js';

/** The rule of `task` at `position` in a step grammar: what the model may write for that task there. */
function taskRule(gbnf: string, task: string, position: number): string {
  const lines = gbnf.split('\n');
  const nameRule = lines.find(
    (line) => /^name\d+ ::= /.test(line) && line.includes(JSON.stringify(JSON.stringify(task))),
  );
  assert.ok(nameRule, `no rule names ${task}`);
  const group = /^name(\d+)/.exec(nameRule)![1];
  const rule = lines.find((line) => line.startsWith(`t${position}-${group} ::= `));
  assert.ok(rule, `no rule for ${task} at position ${position}`);
  return rule;
}

const reference = (id: number) => JSON.stringify(JSON.stringify(`<GENERATED>-${id}`));

const task = (name: string, id: number, args: Record<string, string | null>) =>
  JSON.stringify({ task: name, id, dep: [-1], args });

describe('plan grammar for constrained decoding', () => {
  test('the first step names every built-in task and starts the reply', () => {
    const gbnf = planGrammarSteps().next('')!;
    assert.match(gbnf, /^root ::= "\{\\"tasks\\":\[" \("\]\}" \| p0\)/);
    for (const name of TASK_NAMES) assert.ok(gbnf.includes(JSON.stringify(JSON.stringify(name))), name);
  });

  test('an image argument may refer to an earlier task only when that task produces an image', () => {
    const steps = planGrammarSteps();
    const afterImage = steps.next(`{"tasks":[${task('text-to-image', 0, { text: 'a zebra' })},`)!;
    const afterLabel = steps.next(`{"tasks":[${task('text-classification', 0, { text: 'hi' })},`)!;
    assert.ok(taskRule(afterImage, 'object-detection', 1).includes(reference(0)));
    assert.ok(!taskRule(afterLabel, 'object-detection', 1).includes('GENERATED'));
    // Every task's result reads as text, so a text argument may refer to either.
    assert.ok(taskRule(afterLabel, 'text-to-speech', 1).includes(reference(0)));
    // Audio from text-to-speech feeds speech recognition; a generated image does not.
    const afterSpeech = steps.next(`{"tasks":[${task('text-to-speech', 0, { text: 'hi' })},`)!;
    assert.ok(taskRule(afterSpeech, 'automatic-speech-recognition', 1).includes(reference(0)));
    assert.ok(!taskRule(afterImage, 'automatic-speech-recognition', 1).includes('GENERATED'));
  });

  test('references name only earlier tasks, and a task takes only its own argument kinds', () => {
    const gbnf = planGrammarSteps().next('')!;
    const speech = taskRule(gbnf, 'text-to-speech', 2);
    assert.ok(speech.includes(reference(0)) && speech.includes(reference(1)));
    assert.ok(!speech.includes(reference(2)));
    assert.ok(!speech.includes('\\"image\\"'));
    // object-detection needs its image: no null alternative.
    assert.match(taskRule(gbnf, 'object-detection', 0), /"\\"image\\"" ":" \(file-literal\)/);
  });

  test('a task list where no media can flow between tasks is one step', () => {
    const grammar = new PlanGrammar(
      ['image-classification', 'translation', 'text-to-speech'].map((name) => HUGGING_FACE_TASKS.get(name)!),
    );
    assert.equal(grammar.stepwise, false);
    const gbnf = grammar.next('')!;
    assert.ok(gbnf.includes(`p${MAX_GRAMMAR_TASKS - 1} ::=`));
    assert.ok(!/\| ","\)/.test(gbnf), 'no step ends after a task');
    assert.equal(new PlanGrammar(HUGGING_FACE_TASKS.tasks).stepwise, true);
  });

  test('the reply ends after "]}", after the last position, or when it is not one the grammar writes', () => {
    const steps = planGrammarSteps();
    assert.equal(steps.next('{"tasks":[]}'), undefined);
    assert.equal(steps.next(`{"tasks":[${task('text-to-image', 0, { text: 'x' })}]}`), undefined);
    assert.equal(steps.next('{"tasks":[{"task":'), undefined);
    assert.equal(steps.next('not json,'), undefined);
    const full = Array.from({ length: MAX_GRAMMAR_TASKS }, (_, id) =>
      task('text-to-image', id, { text: 'x' }),
    );
    assert.equal(steps.next(`{"tasks":[${full.join(',')},`), undefined);
    const five = full.slice(0, -1);
    assert.match(steps.next(`{"tasks":[${five.join(',')},`)!, new RegExp(`^root ::= p${five.length}\\n`));
  });

  test('a vocabulary with no task plans nothing', () => {
    assert.equal(new PlanGrammar([]).next(''), 'root ::= "{\\"tasks\\":[]}"');
  });
});
