import './styles.css';
import { ApiError, api, getApiKey, setApiKey } from './api.js';
import { formatBytes, h, relativeTime, svg } from './dom.js';
import { applyEvent, emptyRun, type RunState, runFromView } from './run-state.js';
import { renderGraph, renderTask } from './run-view.js';
import type { Artifact, Conversation, RunView, Settings, UploadedFile } from './types.js';

// ---- state -------------------------------------------------------------------------------------------

interface PendingFile {
  key: number;
  file: File;
  preview: string | null;
  upload: UploadedFile | null;
  error: string | null;
}

const state = {
  conversations: [] as Conversation[],
  currentId: null as string | null,
  pending: [] as PendingFile[],
  /** Event streams of runs shown on screen, closed when the user leaves the conversation. */
  following: new AbortController(),
  sending: false,
  authRequired: false,
};
let pendingCounter = 0;

// ---- layout ------------------------------------------------------------------------------------------

const conversationList = h('ul', { class: 'conversation-list', 'aria-label': 'Conversations' });
const thread = h('section', { class: 'thread', 'aria-live': 'polite', 'data-testid': 'thread' });
const title = h(
  'h1',
  { class: 'topbar-title', title: 'Click to rename', 'data-testid': 'title' },
  'New conversation',
);
const attachments = h('div', { class: 'attachments', 'data-testid': 'attachments' });
const fileInput = h('input', {
  type: 'file',
  multiple: true,
  accept: 'image/*,audio/*,video/*',
  hidden: true,
  'data-testid': 'file-input',
});
const textarea = h('textarea', {
  rows: 1,
  placeholder: 'Ask Jarvis…',
  'aria-label': 'Message',
  'data-testid': 'prompt',
});
const sendButton = h(
  'button',
  { type: 'submit', class: 'send', 'aria-label': 'Send', 'data-testid': 'send' },
  'Send',
);
const banner = h('div', { class: 'banner', hidden: true, role: 'alert' });
const dropzone = h(
  'div',
  { class: 'dropzone', hidden: true },
  h('div', {}, 'Drop images, audio or video to attach'),
);

/** Drawn rather than an emoji: headless and minimal systems often have no emoji font. */
function paperclip(): SVGElement {
  const icon = svg('svg', { viewBox: '0 0 24 24', width: 20, height: 20, 'aria-hidden': 'true' });
  icon.append(
    svg('path', {
      d: 'M21 11.5 12.5 20a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5',
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': 2,
      'stroke-linecap': 'round',
      'stroke-linejoin': 'round',
    }),
  );
  return icon;
}

const openSidebar = () => document.body.classList.add('sidebar-open');
const closeSidebar = () => document.body.classList.remove('sidebar-open');

const sidebar = h(
  'aside',
  { class: 'sidebar' },
  h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 24, height: 24 }), 'Jarvis'),
  h(
    'button',
    {
      class: 'new-conversation',
      type: 'button',
      onclick: () => newConversation(),
      'data-testid': 'new-conversation',
    },
    '+ New conversation',
  ),
  h('nav', {}, conversationList),
  h('button', { class: 'settings-link', type: 'button', onclick: () => void openSettings() }, '⚙ Settings'),
);

const composer = h(
  'form',
  {
    class: 'composer',
    onsubmit: (event: Event) => {
      event.preventDefault();
      void send();
    },
  },
  attachments,
  h(
    'div',
    { class: 'composer-row' },
    h(
      'button',
      {
        type: 'button',
        class: 'attach',
        'aria-label': 'Attach files',
        title: 'Attach images, audio or video',
        onclick: () => fileInput.click(),
      },
      paperclip(),
    ),
    textarea,
    sendButton,
  ),
  fileInput,
);

const main = h(
  'main',
  { class: 'main' },
  h(
    'header',
    { class: 'topbar' },
    h('button', { type: 'button', class: 'menu', 'aria-label': 'Conversations', onclick: openSidebar }, '☰'),
    title,
    h(
      'button',
      { type: 'button', class: 'icon', 'aria-label': 'Settings', onclick: () => void openSettings() },
      '⚙',
    ),
  ),
  banner,
  thread,
  composer,
);

document
  .querySelector('#app')!
  .append(
    h('div', { class: 'shell' }, sidebar, h('div', { class: 'scrim', onclick: closeSidebar }), main),
    dropzone,
  );

function showBanner(message: string | null): void {
  banner.hidden = message === null;
  banner.textContent = message ?? '';
}

function describe(error: unknown): string {
  if (error instanceof ApiError && error.status === 401) {
    return 'This server needs an API key: open Settings and enter it under "Server access".';
  }
  return error instanceof Error ? error.message : String(error);
}

// ---- conversations -----------------------------------------------------------------------------------

/** Clicking the title of an open conversation edits it in place: Enter saves, Escape keeps the old one. */
title.addEventListener('click', () => {
  const id = state.currentId;
  if (!id || title.querySelector('input')) return;
  const previous = title.textContent ?? '';
  const input = h('input', {
    class: 'title-input',
    value: previous,
    'aria-label': 'Conversation title',
    maxlength: 200,
  });
  let done = false;
  const finish = async (save: boolean) => {
    if (done) return;
    done = true;
    const next = input.value.trim();
    title.textContent = save && next ? next : previous;
    if (!save || !next || next === previous) return;
    try {
      await api.renameConversation(id, next);
      await refreshConversations();
    } catch (error) {
      title.textContent = previous;
      showBanner(describe(error));
    }
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') void finish(true);
    if (event.key === 'Escape') void finish(false);
  });
  input.addEventListener('blur', () => void finish(true));
  title.replaceChildren(input);
  input.select();
});

function renderConversationList(): void {
  conversationList.replaceChildren(
    ...state.conversations.map((conversation) =>
      h(
        'li',
        { class: conversation.id === state.currentId ? 'active' : undefined },
        h(
          'a',
          { href: `#/c/${conversation.id}`, onclick: closeSidebar, 'data-testid': 'conversation-link' },
          h('span', { class: 'conversation-title' }, conversation.title),
          h('span', { class: 'conversation-time' }, relativeTime(conversation.updatedAt)),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'delete',
            'aria-label': `Delete ${conversation.title}`,
            title: 'Delete',
            onclick: () => void deleteConversation(conversation),
          },
          '×',
        ),
      ),
    ),
  );
  if (state.conversations.length === 0) {
    conversationList.append(h('li', { class: 'empty' }, 'No conversations yet'));
  }
}

async function refreshConversations(): Promise<void> {
  try {
    state.conversations = await api.conversations();
    renderConversationList();
  } catch (error) {
    showBanner(describe(error));
  }
}

async function deleteConversation(conversation: Conversation): Promise<void> {
  if (!confirm(`Delete “${conversation.title}” and its results?`)) return;
  await api.deleteConversation(conversation.id).catch((error: unknown) => showBanner(describe(error)));
  if (state.currentId === conversation.id) newConversation();
  await refreshConversations();
}

function newConversation(): void {
  closeSidebar();
  if (location.hash) history.pushState(null, '', location.pathname);
  void showConversation(null);
}

function emptyThread(): HTMLElement {
  return h(
    'div',
    { class: 'welcome' },
    h('h2', {}, 'What can Jarvis do for you?'),
    h(
      'p',
      {},
      'Jarvis plans tasks with a language model, picks an expert model for each, runs them and answers. ' +
        'Drop an image or a recording here and ask about it.',
    ),
    h(
      'ul',
      { class: 'examples' },
      ...[
        'How many zebras are in this picture?',
        'Find the people and places in: Ada Lovelace met Charles Babbage in London.',
        'Describe this image, then read the description aloud.',
      ].map((example) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              onclick: () => {
                textarea.value = example;
                textarea.focus();
                autosize();
              },
            },
            example,
          ),
        ),
      ),
    ),
  );
}

async function showConversation(id: string | null): Promise<void> {
  state.following.abort();
  state.following = new AbortController();
  state.currentId = id;
  renderConversationList();
  showBanner(null);
  if (id === null) {
    title.textContent = 'New conversation';
    thread.replaceChildren(emptyThread());
    return;
  }
  thread.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    const detail = await api.conversation(id);
    if (state.currentId !== id) return;
    title.textContent = detail.conversation.title;
    const runs = new Map(detail.runs.map((run) => [run.id, run]));
    const turns: HTMLElement[] = [];
    for (const message of detail.messages) {
      if (message.role === 'user') {
        turns.push(userTurn(message.content, message.files));
        const run = message.runId ? runs.get(message.runId) : undefined;
        if (run) turns.push(new RunCard(run, state.following.signal).element);
      } else if (!message.runId || !runs.has(message.runId)) {
        turns.push(h('div', { class: 'turn turn-assistant' }, answerBody(message.content, [])));
      }
    }
    thread.replaceChildren(...turns);
    scrollToEnd();
  } catch (error) {
    thread.replaceChildren();
    showBanner(describe(error));
  }
}

function scrollToEnd(): void {
  thread.scrollTop = thread.scrollHeight;
}

// ---- turns -------------------------------------------------------------------------------------------

function fileThumb(file: UploadedFile): HTMLElement {
  if (file.kind === 'image')
    return h('img', { src: file.url, alt: file.name, class: 'thumb', title: file.name });
  if (file.kind === 'audio') return h('audio', { src: file.url, controls: true, title: file.name });
  return h('video', { src: file.url, controls: true, class: 'thumb', title: file.name });
}

function userTurn(content: string, files: UploadedFile[]): HTMLElement {
  return h(
    'div',
    { class: 'turn turn-user', 'data-testid': 'user-turn' },
    files.length > 0 ? h('div', { class: 'turn-files' }, ...files.map(fileThumb)) : null,
    h('p', {}, content),
  );
}

/** The answer as paragraphs; file paths it names become links to the files. */
function answerBody(text: string, artifacts: Artifact[]): HTMLElement {
  const body = h('div', { class: 'answer-text' });
  const links = artifacts
    .filter((artifact) => artifact.url)
    .map((artifact) => ({
      name: artifact.path.split(/[\\/]/).slice(-3).join('/'),
      file: artifact.path.split(/[\\/]/).at(-1)!,
      url: artifact.url!,
    }));
  for (const paragraph of text.split(/\n{2,}/)) {
    const p = h('p');
    const lines = paragraph.split('\n');
    lines.forEach((line, index) => {
      let rest = line;
      while (rest.length > 0) {
        const found = links
          .map((link) => ({ link, at: rest.indexOf(link.file) }))
          .filter((candidate) => candidate.at >= 0)
          .sort((a, b) => a.at - b.at)[0];
        if (!found) {
          p.append(rest);
          break;
        }
        // Take the whole path token the file name ends (runs/<id>/0-x.png), not just the name.
        const tokenStart = rest.lastIndexOf(' ', found.at) + 1;
        p.append(rest.slice(0, tokenStart));
        const end = found.at + found.link.file.length;
        p.append(
          h('a', { href: found.link.url, target: '_blank', rel: 'noopener' }, rest.slice(tokenStart, end)),
        );
        rest = rest.slice(end);
      }
      if (index < lines.length - 1) p.append(h('br'));
    });
    body.append(p);
  }
  return body;
}

const STAGE_TEXT: Record<RunState['stage'], string> = {
  starting: 'Starting…',
  planning: 'Planning tasks…',
  selecting: 'Choosing models…',
  running: 'Running tasks…',
  answering: 'Writing the answer…',
  done: 'Done',
};

/** One run on screen: status, task graph, task cards with outputs, and the answer as it streams. */
class RunCard {
  readonly element: HTMLElement;
  private readonly status = h('div', { class: 'run-status', 'data-testid': 'run-status' });
  private readonly graph = h('div', { class: 'graph-wrap', 'data-testid': 'graph' });
  private readonly tasks = h('div', { class: 'tasks', 'data-testid': 'tasks' });
  private readonly answer = h('div', { class: 'answer', 'data-testid': 'answer' });
  private readonly errors = h('div', { class: 'run-errors' });
  private readonly rendered = new Map<number, { element: HTMLElement; signature: string }>();
  private run: RunState;
  private scheduled = new Set<'tasks' | 'answer' | 'status'>();

  constructor(view: RunView | string, signal: AbortSignal) {
    this.run = typeof view === 'string' ? emptyRun(view) : runFromView(view);
    this.element = h(
      'section',
      { class: 'turn turn-assistant run', 'data-run-id': this.run.id, 'data-testid': 'run' },
      this.status,
      this.graph,
      this.tasks,
      this.answer,
      this.errors,
    );
    this.draw(new Set(['tasks', 'answer', 'status']));
    if (this.run.status === 'running') void this.follow(signal);
  }

  private async follow(signal: AbortSignal): Promise<void> {
    // Replaying from the first event rebuilds the same state the server has, deltas included.
    this.run = emptyRun(this.run.id);
    try {
      const end = await api.followRun(
        this.run.id,
        (event) => this.schedule(applyEvent(this.run, event)),
        signal,
      );
      const view = await api.run(this.run.id);
      this.run = runFromView(view);
      if (end.status !== 'unknown') this.run.status = end.status;
      this.draw(new Set(['tasks', 'answer', 'status']));
      void refreshConversations();
    } catch (error) {
      if (!signal.aborted) showBanner(describe(error));
    }
  }

  private schedule(kind: 'tasks' | 'answer' | 'status'): void {
    const first = this.scheduled.size === 0;
    this.scheduled.add(kind);
    if (!first) return;
    requestAnimationFrame(() => {
      const kinds = this.scheduled;
      this.scheduled = new Set();
      this.draw(kinds);
    });
  }

  private draw(kinds: Set<'tasks' | 'answer' | 'status'>): void {
    const nearBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
    this.drawStatus();
    if (kinds.has('tasks')) this.drawTasks();
    if (kinds.has('answer') || kinds.has('tasks')) this.drawAnswer();
    this.element.dataset.status = this.run.status;
    if (nearBottom) scrollToEnd();
  }

  private drawStatus(): void {
    const run = this.run;
    const tasks = [...run.tasks.values()];
    const finished = tasks.filter((task) => task.status !== 'waiting' && task.status !== 'running').length;
    let text: string;
    let dot: string = run.status;
    if (run.status === 'running') {
      text = STAGE_TEXT[run.stage];
      if (run.stage === 'running' && tasks.length > 0)
        text = `Running tasks… ${finished} of ${tasks.length} finished`;
    } else if (run.status === 'succeeded') {
      const failed = tasks.filter((task) => task.status === 'failed').length;
      // Some tasks failing is not a plain "Done": the answer may rest on fewer results than were planned.
      text = `${failed > 0 ? 'Done with failures' : 'Done'}${run.durationMs !== null ? ` in ${(run.durationMs / 1000).toFixed(1)} s` : ''}${tasks.length ? ` · ${tasks.length} task${tasks.length === 1 ? '' : 's'}` : ''}${failed > 0 ? `, ${failed} failed` : ''}`;
      dot = failed > 0 ? 'partial' : 'succeeded';
    } else {
      text = { failed: 'Failed', cancelled: 'Cancelled', interrupted: 'Interrupted (the server stopped)' }[
        run.status
      ];
    }
    const children: (HTMLElement | string)[] = [h('span', { class: `dot dot-${dot}` }), text];
    if (run.status === 'running') {
      children.push(
        h(
          'button',
          {
            type: 'button',
            class: 'cancel',
            onclick: () => void api.cancelRun(run.id).catch((error: unknown) => showBanner(describe(error))),
          },
          'Cancel',
        ),
      );
    }
    this.status.replaceChildren(...children);
    this.errors.replaceChildren(
      ...run.errors
        .filter((error) => error.code !== 'cancelled')
        .map((error) => h('p', { class: 'run-error' }, `${error.stage}: ${error.message}`)),
    );
  }

  private drawTasks(): void {
    const tasks = [...this.run.tasks.values()];
    this.graph.hidden = tasks.length === 0;
    this.graph.replaceChildren(renderGraph(this.run));
    const seen = new Set<number>();
    for (const task of tasks) {
      seen.add(task.id);
      const signature = JSON.stringify(task);
      const existing = this.rendered.get(task.id);
      if (existing?.signature === signature) continue;
      // Only a task that changed is redrawn, so audio already playing in another task keeps playing.
      const element = renderTask(task);
      if (existing) existing.element.replaceWith(element);
      else this.tasks.append(element);
      this.rendered.set(task.id, { element, signature });
    }
    for (const [id, entry] of this.rendered) {
      if (!seen.has(id)) {
        entry.element.remove();
        this.rendered.delete(id);
      }
    }
  }

  private drawAnswer(): void {
    const artifacts = [...this.run.tasks.values()].flatMap((task) => task.result?.output?.artifacts ?? []);
    if (!this.run.answer) {
      this.answer.replaceChildren();
      return;
    }
    this.answer.replaceChildren(answerBody(this.run.answer, artifacts));
    if (this.run.status === 'running' && this.run.stage === 'answering')
      this.answer.append(h('span', { class: 'caret' }));
  }
}

// ---- composer ----------------------------------------------------------------------------------------

function autosize(): void {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
}

function renderAttachments(): void {
  attachments.replaceChildren(
    ...state.pending.map((pending) =>
      h(
        'div',
        {
          class: `chip${pending.error ? ' chip-error' : ''}${pending.upload ? ' chip-ready' : ' chip-uploading'}`,
          'data-testid': 'attachment',
          title: pending.error ?? pending.file.name,
        },
        pending.preview
          ? h('img', { src: pending.preview, alt: '' })
          : h('span', { class: 'chip-icon' }, pending.file.type.startsWith('audio') ? '🎵' : '📄'),
        h('span', { class: 'chip-name' }, pending.file.name),
        h(
          'span',
          { class: 'chip-meta' },
          pending.error ? pending.error : pending.upload ? formatBytes(pending.file.size) : 'uploading…',
        ),
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Remove ${pending.file.name}`,
            onclick: () => {
              state.pending = state.pending.filter((other) => other !== pending);
              if (pending.preview) URL.revokeObjectURL(pending.preview);
              renderAttachments();
            },
          },
          '×',
        ),
      ),
    ),
  );
}

function addFiles(files: Iterable<File>): void {
  for (const file of files) {
    const pending: PendingFile = {
      key: ++pendingCounter,
      file,
      preview: file.type.startsWith('image/') ? URL.createObjectURL(file) : null,
      upload: null,
      error: null,
    };
    state.pending.push(pending);
    api
      .upload(file)
      .then((upload) => {
        pending.upload = upload;
      })
      .catch((error: unknown) => {
        pending.error = describe(error);
      })
      .finally(renderAttachments);
  }
  renderAttachments();
}

async function send(): Promise<void> {
  const text = textarea.value.trim();
  if (state.sending) return;
  if (!text && state.pending.length === 0) return;
  if (state.pending.some((pending) => !pending.upload && !pending.error)) {
    showBanner('Wait until the files have uploaded.');
    return;
  }
  const files = state.pending.filter((pending) => pending.upload).map((pending) => pending.upload!);
  state.sending = true;
  sendButton.disabled = true;
  showBanner(null);
  try {
    const started = await api.startRun({
      request: text || 'What is in these files?',
      ...(state.currentId ? { conversationId: state.currentId } : {}),
      files: files.map((file) => file.id),
    });
    if (state.currentId !== started.conversationId) {
      state.following.abort();
      state.following = new AbortController();
      state.currentId = started.conversationId;
      history.pushState(null, '', `#/c/${started.conversationId}`);
      thread.replaceChildren();
      title.textContent = text.slice(0, 60) || 'New conversation';
    }
    thread.append(userTurn(text, files), new RunCard(started.id, state.following.signal).element);
    scrollToEnd();
    textarea.value = '';
    autosize();
    for (const pending of state.pending) if (pending.preview) URL.revokeObjectURL(pending.preview);
    state.pending = [];
    renderAttachments();
    void refreshConversations();
  } catch (error) {
    showBanner(describe(error));
  } finally {
    state.sending = false;
    sendButton.disabled = false;
  }
}

textarea.addEventListener('input', autosize);
textarea.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    void send();
  }
});
textarea.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (files.length > 0) addFiles(files);
});
fileInput.addEventListener('change', () => {
  addFiles([...(fileInput.files ?? [])]);
  fileInput.value = '';
});

// Dragging files anywhere over the page shows the drop target; a counter copes with enter/leave on children.
let dragDepth = 0;
const hasFiles = (event: DragEvent) => [...(event.dataTransfer?.types ?? [])].includes('Files');
window.addEventListener('dragenter', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  dropzone.hidden = false;
});
window.addEventListener('dragover', (event) => {
  if (hasFiles(event)) event.preventDefault();
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) dropzone.hidden = true;
});
window.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  dropzone.hidden = true;
  addFiles([...(event.dataTransfer?.files ?? [])]);
});

// ---- settings ----------------------------------------------------------------------------------------

const MODE_TEXT: Record<string, string> = {
  local: 'Local: only models that run on this machine',
  huggingface: 'Hugging Face: only remote models (needs a token on the server)',
  hybrid: 'Hybrid: local models first, remote ones where needed',
};

async function openSettings(): Promise<void> {
  closeSidebar();
  let settings: Settings | null = null;
  let loadError: string | null = null;
  try {
    settings = await api.settings();
  } catch (error) {
    loadError = describe(error);
  }
  const baseURL = h('input', {
    name: 'baseURL',
    type: 'url',
    placeholder: 'https://api.openai.com/v1',
    value: settings?.llm.baseURL ?? '',
  });
  const model = h('input', { name: 'model', required: settings !== null, value: settings?.llm.model ?? '' });
  const llmKey = h('input', {
    name: 'llmKey',
    type: 'password',
    autocomplete: 'off',
    placeholder: settings?.llm.apiKeySet ? 'saved — leave empty to keep' : 'none',
  });
  const mode = h(
    'select',
    { name: 'mode' },
    ...(settings?.modes ?? ['local', 'huggingface', 'hybrid']).map((value) =>
      h('option', { value, selected: settings?.inference.mode === value }, MODE_TEXT[value] ?? value),
    ),
  );
  // Fields the server's environment or flags set win at every start; editing them here would be refused.
  const locked = new Set(settings?.locked ?? []);
  const lockedInputs: [
    NonNullable<Settings['locked']>[number],
    HTMLInputElement | HTMLSelectElement,
    string,
  ][] = [
    ['llm.baseURL', baseURL, 'Endpoint'],
    ['llm.model', model, 'Model'],
    ['llm.apiKey', llmKey, 'API key'],
    ['inference.mode', mode, 'Inference mode'],
  ];
  const lockedNames: string[] = [];
  for (const [field, input, label] of lockedInputs) {
    if (!locked.has(field)) continue;
    input.disabled = true;
    input.title = 'Set by the server’s environment or command-line flags';
    lockedNames.push(label);
  }
  const lockedHint = h(
    'p',
    { class: 'hint', 'data-testid': 'locked-settings', hidden: lockedNames.length === 0 },
    `Set by the server’s environment or command-line flags, which win at every start: ${lockedNames.join(', ')}. Change ${lockedNames.length === 1 ? 'it' : 'them'} there.`,
  );
  const serverKey = h('input', {
    name: 'serverKey',
    type: 'password',
    autocomplete: 'off',
    value: getApiKey(),
  });
  const message = h('p', { class: 'form-message', role: 'status' }, loadError ?? '');
  const dialog = h('dialog', { class: 'settings', 'aria-label': 'Settings' });
  const form = h(
    'form',
    {
      method: 'dialog',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const keyChanged = serverKey.value.trim() !== getApiKey();
        setApiKey(serverKey.value.trim());
        try {
          // Only what changed is sent, and nothing when the server's settings could not be read (no access
          // yet): then only this browser's key was being entered.
          if (settings) {
            const llm: { baseURL?: string | null; model?: string; apiKey?: string } = {};
            const endpoint = baseURL.value.trim() || null;
            if (endpoint !== settings.llm.baseURL) llm.baseURL = endpoint;
            if (model.value.trim() !== settings.llm.model) llm.model = model.value.trim();
            if (llmKey.value) llm.apiKey = llmKey.value;
            const modeChanged = mode.value !== settings.inference.mode;
            if (Object.keys(llm).length > 0 || modeChanged) {
              await api.saveSettings({
                ...(Object.keys(llm).length > 0 ? { llm } : {}),
                ...(modeChanged ? { inference: { mode: mode.value } } : {}),
              });
            }
          }
          dialog.close();
          if (keyChanged) {
            showBanner(null);
            void refreshConversations();
            void showConversation(conversationFromHash());
          }
        } catch (error) {
          message.textContent = describe(error);
        }
      },
    },
    h('h2', {}, 'Settings'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Controller LLM (OpenAI-compatible)'),
      h('label', {}, 'Endpoint', baseURL),
      h('label', {}, 'Model', model),
      h('label', {}, 'API key', llmKey),
      h('p', { class: 'hint' }, 'Changing the endpoint forgets the saved key unless you enter a new one.'),
    ),
    h('fieldset', {}, h('legend', {}, 'Inference mode'), mode),
    lockedHint,
    h(
      'fieldset',
      {},
      h('legend', {}, 'Server access'),
      h('label', {}, 'This server’s API key (kept in this browser)', serverKey),
    ),
    message,
    h(
      'div',
      { class: 'dialog-buttons' },
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Close'),
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
    ),
  );
  dialog.append(form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

// ---- start -------------------------------------------------------------------------------------------

function conversationFromHash(): string | null {
  const match = /^#\/c\/([\w.-]+)$/.exec(location.hash);
  return match ? match[1]! : null;
}

window.addEventListener('popstate', () => void showConversation(conversationFromHash()));
window.addEventListener('hashchange', () => {
  const id = conversationFromHash();
  if (id !== state.currentId) void showConversation(id);
});

async function start(): Promise<void> {
  let problem: string | null = null;
  try {
    const health = await api.health();
    state.authRequired = health.authRequired;
    if (health.authRequired && !getApiKey()) {
      problem = 'This server needs an API key: open Settings and enter it under "Server access".';
    }
  } catch {
    problem = 'The Jarvis server cannot be reached.';
  }
  if (!problem) await refreshConversations();
  await showConversation(problem ? null : conversationFromHash());
  // Shown last: opening a conversation clears the banner.
  if (problem) showBanner(problem);
  textarea.focus();
}

void start();
