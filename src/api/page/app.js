// The operator page: suggestions for the client's message, the draft with live style checks,
// and the polite rewrite with a word-level diff. Plain JavaScript, no dependencies; every text
// that comes from the API is put into the page as text nodes, never as markup.
//
// Offsets in the API (`start`, `end`) count Unicode code points, so every span is cut from
// `Array.from(text)`, never from the UTF-16 string.
'use strict';

(() => {
  const TOKEN_KEY = 'sufler.token';
  const OPERATOR_KEY = 'sufler.operator';
  const PROFILE_KEY = 'sufler.profile';
  const CHECK_DELAY_MS = 400;
  const READY_POLL_MS = 1000;

  const SEVERITY = {
    error: { label: 'Ошибка', rank: 3 },
    warning: { label: 'Предупреждение', rank: 2 },
    hint: { label: 'Совет', rank: 1 },
    info: { label: 'Совет', rank: 1 },
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    readiness: $('readiness'),
    readinessText: $('readiness-text'),
    access: $('access'),
    accessForm: $('access-form'),
    token: $('token'),
    tokenClear: $('token-clear'),
    operatorName: $('operator-name'),
    status: $('status'),
    suggestForm: $('suggest-form'),
    clientName: $('client-name'),
    firstMessage: $('first-message'),
    dialogueState: $('first-message-help'),
    clientMessage: $('client-message'),
    suggestButton: $('suggest-button'),
    suggestionsBlock: $('suggestions-block'),
    suggestions: $('suggestions'),
    suggestionsEmpty: $('suggestions-empty'),
    profile: $('profile'),
    editor: $('editor'),
    layerGaps: $('layer-gaps'),
    layerIssues: $('layer-issues'),
    draft: $('draft'),
    gapHint: $('gap-hint'),
    checkButton: $('check-button'),
    rewriteButton: $('rewrite-button'),
    copyButton: $('copy-button'),
    issuesBlock: $('issues-block'),
    issueCount: $('issue-count'),
    issuesEmpty: $('issues-empty'),
    issues: $('issues'),
    disabledRules: $('disabled-rules'),
    rewritePanel: $('rewrite-panel'),
    rewriteHeading: $('rewrite-heading'),
    rewriteStale: $('rewrite-stale'),
    rewriteText: $('rewrite-text'),
    rewriteMeta: $('rewrite-meta'),
    rewriteDiff: $('rewrite-diff'),
    rewriteEdits: $('rewrite-edits'),
    rewriteWithheldBlock: $('rewrite-withheld-block'),
    rewriteWithheld: $('rewrite-withheld'),
    rewriteRemainingBlock: $('rewrite-remaining-block'),
    rewriteRemaining: $('rewrite-remaining'),
    rewriteAccept: $('rewrite-accept'),
    rewriteDismiss: $('rewrite-dismiss'),
  };

  const state = {
    ready: false,
    readyTimer: 0,
    polling: false,
    /** The last suggest answer: its id, the message it was for and the suggestions. */
    suggest: null,
    /** The last check: `{ text, issues, disabled }`; its offsets hold only while the draft is `text`. */
    checked: null,
    checkTimer: 0,
    checkSeq: 0,
    /** The last rewrite: `{ source, text, edits, issues, similarity, withheld }`. */
    rewrite: null,
    /** Issue indices highlighted from the list. */
    focusedIssue: -1,
  };

  // ---------------------------------------------------------------------------------------
  // Small helpers

  /** Creates an element; `props` sets attributes (`class`, `data-*`, `aria-*`, …) and
   *  children are nodes or strings (strings become text nodes). */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === 'onclick') node.addEventListener('click', value);
        else if (key === 'text') node.textContent = String(value);
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key) || '';
    } catch (_) {
      return '';
    }
  }

  function storageSet(key, value) {
    try {
      if (value) window.localStorage.setItem(key, value);
      else window.localStorage.removeItem(key);
    } catch (_) {
      // Storage may be disabled; the values then live for this page only.
    }
  }

  /** Russian plural: `plural(5, 'правка', 'правки', 'правок')`. */
  function plural(n, one, few, many) {
    const mod10 = n % 10;
    const mod100 = n % 100;
    if (mod10 === 1 && mod100 !== 11) return one;
    if (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) return few;
    return many;
  }

  function formatNumber(value, digits) {
    return Number(value).toLocaleString('ru-RU', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  /** UTF-16 index of code point `cp` in `chars` (for textarea selections). */
  function utf16Index(chars, cp) {
    let index = 0;
    for (let i = 0; i < cp && i < chars.length; i += 1) index += chars[i].length;
    return index;
  }

  /** Code-point index of UTF-16 index `unit` in `text`. */
  function codePointIndex(text, unit) {
    return Array.from(text.slice(0, unit)).length;
  }

  /** Gaps left in a text: `[дата]`, `[номер заказа]` (code-point ranges). */
  function findGaps(chars) {
    const gaps = [];
    for (let i = 0; i < chars.length; i += 1) {
      if (chars[i] !== '[') continue;
      for (let j = i + 1; j < chars.length && j - i <= 60; j += 1) {
        const c = chars[j];
        if (c === '\n' || c === '[') break;
        if (c === ']') {
          if (j > i + 1) gaps.push({ start: i, end: j + 1, label: chars.slice(i + 1, j).join('') });
          i = j;
          break;
        }
      }
    }
    return gaps;
  }

  /** A text with its gaps wrapped in `<mark>` (for suggestion cards). */
  function withGaps(text) {
    const chars = Array.from(text);
    const parts = [];
    let at = 0;
    for (const gap of findGaps(chars)) {
      if (gap.start > at) parts.push(chars.slice(at, gap.start).join(''));
      parts.push(h('mark', { class: 'gap' }, chars.slice(gap.start, gap.end).join('')));
      at = gap.end;
    }
    if (at < chars.length) parts.push(chars.slice(at).join(''));
    return parts;
  }

  // ---------------------------------------------------------------------------------------
  // Status area and readiness

  let statusTimer = 0;

  /** Shows a message in the status area: kind `info`, `success`, `loading` or `error`. */
  function showStatus(kind, title, detail) {
    window.clearTimeout(statusTimer);
    ui.status.dataset.kind = kind;
    ui.status.replaceChildren(h('span', { class: 'status-title', 'data-testid': 'status-title' }, title));
    if (detail) ui.status.append(' ', h('span', { class: 'status-detail', 'data-testid': 'status-detail' }, detail));
    if (kind === 'success' || kind === 'info') {
      statusTimer = window.setTimeout(clearStatus, 8000);
    }
  }

  function clearStatus() {
    window.clearTimeout(statusTimer);
    ui.status.dataset.kind = 'none';
    ui.status.replaceChildren();
  }

  function setReady(ready, text) {
    state.ready = ready;
    ui.readiness.dataset.state = ready ? 'ready' : text === null ? 'offline' : 'loading';
    ui.readinessText.textContent = ready ? 'Готово к работе' : text || 'Модель загружается…';
    for (const button of document.querySelectorAll('[data-needs-ready]')) {
      button.disabled = !ready || button.dataset.busy === 'true';
    }
  }

  async function pollReady() {
    window.clearTimeout(state.readyTimer);
    if (state.polling) return;
    state.polling = true;
    try {
      await pollOnce();
    } finally {
      state.polling = false;
    }
  }

  async function pollOnce() {
    let message = 'Модель загружается…';
    let offline = false;
    try {
      const response = await fetch('/readyz', { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (response.ok) {
        const wasLoading = !state.ready;
        setReady(true);
        if (wasLoading && ui.status.dataset.kind === 'loading') {
          showStatus('success', 'Модель загружена, можно работать.');
        }
        // A draft typed while the model was loading is checked now.
        if (wasLoading && ui.draft.value.trim() && !state.checked) runCheck({ quiet: true });
        return;
      }
      const body = await response.json().catch(() => null);
      if (body && body.error && body.error.code === 'not_ready' && /не загрузилась/.test(body.error.message || '')) {
        message = 'Модель не загрузилась';
        showStatus('error', 'Модель не загрузилась.', body.error.message);
      }
    } catch (_) {
      offline = true;
      message = 'Сервер недоступен';
    }
    setReady(false, offline ? null : message);
    if (offline) {
      showStatus('error', 'Сервер недоступен.', 'Проверьте, пожалуйста, подключение: страница повторит попытку сама.');
    } else if (message === 'Модель загружается…') {
      showStatus('loading', 'Модель загружается…', 'Подбор и проверка станут доступны через несколько секунд.');
    }
    state.readyTimer = window.setTimeout(pollReady, READY_POLL_MS);
  }

  // ---------------------------------------------------------------------------------------
  // API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const FALLBACK_MESSAGES = {
    400: 'Сервер не смог разобрать запрос.',
    401: 'Нужен токен доступа.',
    403: 'Недостаточно прав для этого действия.',
    404: 'Адрес не найден.',
    413: 'Текст слишком длинный.',
    422: 'Запрос не прошёл проверку.',
    429: 'Слишком много запросов, повторите, пожалуйста, чуть позже.',
    503: 'Сервис временно недоступен, повторите, пожалуйста, запрос.',
  };

  async function api(path, body) {
    const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    const token = ui.token.value.trim();
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), cache: 'no-store' });
    } catch (_) {
      throw new ApiError(0, 'network', 'Сервер недоступен. Проверьте, пожалуйста, подключение и повторите попытку.');
    }
    const raw = await response.text();
    let data = null;
    try {
      data = raw ? JSON.parse(raw) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = data && typeof data === 'object' ? data.error : null;
      const message =
        error && typeof error.message === 'string' && error.message.trim()
          ? error.message
          : FALLBACK_MESSAGES[response.status] || `Сервер ответил ошибкой ${response.status}.`;
      const code = error && typeof error.code === 'string' ? error.code : `http_${response.status}`;
      throw new ApiError(response.status, code, message);
    }
    return data;
  }

  /** Shows an error in the status area; `what` says what failed. */
  function reportError(what, error) {
    if (!(error instanceof ApiError)) {
      showStatus('error', `${what}.`, 'Произошла непредвиденная ошибка страницы. Обновите, пожалуйста, страницу.');
      window.console.error(error);
      return;
    }
    let detail = capitalize(error.message);
    if (error.status === 401 || error.status === 403) {
      detail += error.status === 401
        ? ' Укажите, пожалуйста, действующий токен в разделе «Доступ и подпись».'
        : ' Обратитесь, пожалуйста, к администратору за токеном с нужными правами.';
      ui.access.open = true;
      if (error.status === 401) ui.token.focus();
    }
    showStatus('error', `${what}.`, detail);
    if (error.status === 503 && error.code === 'not_ready') {
      setReady(false, 'Модель загружается…');
      pollReady();
    }
  }

  function capitalize(text) {
    const s = String(text).trim();
    if (!s) return s;
    const first = Array.from(s)[0];
    const rest = s.slice(first.length);
    const sentence = first.toLocaleUpperCase('ru-RU') + rest;
    return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
  }

  function setBusy(button, busy, busyLabel) {
    if (busy) {
      button.dataset.label = button.textContent;
      button.dataset.busy = 'true';
      button.textContent = busyLabel;
      button.setAttribute('aria-busy', 'true');
      button.disabled = true;
    } else {
      if (button.dataset.label) button.textContent = button.dataset.label;
      delete button.dataset.busy;
      button.removeAttribute('aria-busy');
      button.disabled = button.hasAttribute('data-needs-ready') && !state.ready;
    }
  }

  // ---------------------------------------------------------------------------------------
  // The request context shared by check and rewrite

  function person(input) {
    const name = input.value.trim();
    return name ? { name } : undefined;
  }

  function dialogue() {
    const message = ui.clientMessage.value.trim();
    return message ? [{ role: 'client', text: message }] : [];
  }

  // Where the draft stands in the dialogue: the first message or a later one, and how often the
  // client's name was used in the replies sent so far (copied from this page). A new client name
  // starts a new dialogue.
  const conversation = { nameUses: 0 };

  function countName(text) {
    const first = ui.clientName.value.trim().split(/\s+/)[0];
    if (!first) return 0;
    const stem = first.toLocaleLowerCase('ru-RU').replace(/[аяоеиыйь]$/u, '');
    const words = text.toLocaleLowerCase('ru-RU').split(/[^\p{L}-]+/u);
    return words.filter((w) => w === first.toLocaleLowerCase('ru-RU') || (stem.length >= 3 && w.startsWith(stem) && w.length - stem.length <= 3)).length;
  }

  function showDialogueState() {
    const n = conversation.nameUses;
    ui.dialogueState.textContent = n
      ? `Имя клиента в этом диалоге уже звучало ${n} ${plural(n, 'раз', 'раза', 'раз')}.`
      : 'Имя клиента в этом диалоге ещё не звучало.';
  }

  function newDialogue() {
    conversation.nameUses = 0;
    ui.firstMessage.checked = true;
    showDialogueState();
  }

  function replySent(text) {
    conversation.nameUses += countName(text);
    ui.firstMessage.checked = false;
    showDialogueState();
  }

  function draftBody(text) {
    return {
      text,
      dialogue: dialogue(),
      client: person(ui.clientName),
      operator: person(ui.operatorName),
      profile: ui.profile.value || 'chat',
      first_message: ui.firstMessage.checked,
      name_uses: conversation.nameUses,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Suggestions

  async function suggest() {
    const message = ui.clientMessage.value.trim();
    if (!message) {
      showStatus('error', 'Нет сообщения клиента.', 'Вставьте, пожалуйста, текст сообщения, к которому нужен ответ.');
      ui.clientMessage.focus();
      return;
    }
    setBusy(ui.suggestButton, true, 'Подбираем…');
    try {
      const data = await api('/v1/suggest', {
        dialogue: [{ role: 'client', text: message }],
        client: person(ui.clientName),
        operator: person(ui.operatorName),
        k: 3,
      });
      state.suggest = { id: data.suggestion_id, message, suggestions: data.suggestions || [] };
      renderSuggestions(data);
      const count = state.suggest.suggestions.length;
      if (count) {
        showStatus('info', `Найдено ${count} ${plural(count, 'подходящий шаблон', 'подходящих шаблона', 'подходящих шаблонов')}.`);
      } else {
        const why = data.abstention && data.abstention.message;
        showStatus('info', 'Подходящего шаблона не нашлось.', why || 'Напишите, пожалуйста, ответ самостоятельно.');
      }
    } catch (error) {
      reportError('Не удалось подобрать ответ', error);
    } finally {
      setBusy(ui.suggestButton, false);
    }
  }

  function renderSuggestions(data) {
    const suggestions = data.suggestions || [];
    ui.suggestionsBlock.hidden = false;
    ui.suggestionsEmpty.hidden = suggestions.length > 0;
    const best = suggestions.reduce((m, s) => Math.max(m, Number(s.score) || 0), 0);
    ui.suggestions.replaceChildren(
      ...suggestions.map((s, index) => {
        const score = Number(s.score) || 0;
        // Scores are comparable within one answer: the bar is relative to the best one.
        const width = best > 0 ? Math.max(4, Math.round((score / best) * 100)) : 0;
        const gaps = findGaps(Array.from(String(s.text || '')));
        const matched = s.why && Array.isArray(s.why.matched) ? s.why.matched : [];
        const button = h(
          'button',
          {
            type: 'button',
            class: 'suggestion',
            'data-testid': 'suggestion',
            'data-template': s.id,
            'aria-pressed': 'false',
          },
          h(
            'span',
            { class: 'suggestion-head' },
            h('span', { class: 'suggestion-rank', 'aria-hidden': 'true' }, String(index + 1)),
            h('span', { class: 'suggestion-title', 'data-testid': 'suggestion-title' }, String(s.title || s.id)),
            h(
              'span',
              { class: 'score', 'data-testid': 'suggestion-score', title: 'Оценка соответствия' },
              h('span', { class: 'score-bar', 'aria-hidden': 'true' }, h('span', { style: `width:${width}%` })),
              h('span', { class: 'score-value' }, h('span', { class: 'visually-hidden' }, 'Оценка '), formatNumber(score, 2)),
            ),
          ),
          h('span', { class: 'suggestion-text', 'data-testid': 'suggestion-text' },
            withGaps(String(s.text || ''))),
          gaps.length
            ? h('span', { class: 'suggestion-note' },
              `Нужно заполнить: ${gaps.map((g) => g.label).join(', ')}`)
            : null,
          matched.length
            ? h('span', { class: 'suggestion-note suggestion-why' }, `Совпало: ${matched.slice(0, 6).join(', ')}`)
            : null,
          // Preconditions the dialogue does not show: the operator checks them before sending.
          Array.isArray(s.conditions) && s.conditions.length
            ? h('span', { class: 'suggestion-note suggestion-condition', 'data-testid': 'suggestion-condition' },
              `Подходит, ${s.conditions.join('; ')}`)
            : null,
        );
        button.addEventListener('click', () => chooseSuggestion(s, button));
        return h('li', null, button);
      }),
    );
  }

  async function chooseSuggestion(suggestion, button) {
    for (const other of ui.suggestions.querySelectorAll('.suggestion')) other.setAttribute('aria-pressed', 'false');
    button.setAttribute('aria-pressed', 'true');
    // The operator's own draft is not lost: the status area offers to bring it back.
    const previous = ui.draft.value;
    const ownDraft = previous.trim() && !(state.suggest && state.suggest.suggestions.some((s) => s.text === previous));
    setDraft(String(suggestion.text || ''));
    const gaps = findGaps(Array.from(ui.draft.value));
    ui.draft.focus();
    if (gaps.length) selectRange(gaps[0].start, gaps[0].end);
    else ui.draft.setSelectionRange(ui.draft.value.length, ui.draft.value.length);
    runCheck({ quiet: true });
    const title = String(suggestion.title || suggestion.id);
    const gapNote = gaps.length ? ' Заполните, пожалуйста, выделенные пропуски.' : '';
    showStatus('success', `Шаблон «${title}» перенесён в черновик.`, gapNote.trim() || undefined);
    if (ownDraft) {
      ui.status.append(' ', h('button', {
        type: 'button',
        class: 'status-action',
        'data-testid': 'restore-draft',
        onclick: () => {
          setDraft(previous, previous.length);
          ui.draft.focus();
          runCheck({ quiet: true });
          showStatus('info', 'Прежний черновик возвращён.');
        },
      }, 'Вернуть прежний черновик'));
    }
    if (!state.suggest) return;
    try {
      await api('/v1/feedback', {
        suggestion_id: state.suggest.id,
        message: state.suggest.message,
        chosen: suggestion.id,
        edited: false,
      });
    } catch (error) {
      reportError('Не удалось сохранить выбор шаблона', error);
    }
  }

  // ---------------------------------------------------------------------------------------
  // The draft editor: a textarea over two mirror layers (gaps, issues) with the same text

  function setDraft(text, caret) {
    ui.draft.value = text;
    if (caret !== undefined) ui.draft.setSelectionRange(caret, caret);
    onDraftChanged();
  }

  /** Selects code points `[start, end)` of the draft. */
  function selectRange(start, end) {
    const chars = Array.from(ui.draft.value);
    ui.draft.focus();
    ui.draft.setSelectionRange(utf16Index(chars, start), utf16Index(chars, end));
  }

  function autosize() {
    ui.draft.style.height = 'auto';
    ui.draft.style.height = `${ui.draft.scrollHeight + 2}px`;
  }

  /** Splits `chars` at every range boundary; each piece lists the ranges covering it. */
  function pieces(chars, ranges) {
    const cuts = new Set([0, chars.length]);
    for (const r of ranges) {
      cuts.add(r.start);
      cuts.add(r.end);
    }
    const points = [...cuts].sort((a, b) => a - b);
    const out = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      const a = points[i];
      const b = points[i + 1];
      if (a === b) continue;
      out.push({ text: chars.slice(a, b).join(''), covering: ranges.filter((r) => r.start <= a && r.end >= b) });
    }
    return out;
  }

  /** The last check's issues as ranges over the current draft `chars`. While the operator types,
   *  until the next check answers, issues before and after the edited stretch keep their marks
   *  (shifted by the length change) and the ones it touched are dropped. */
  function validIssues(chars) {
    if (!state.checked) return [];
    const old = Array.from(state.checked.text);
    let prefix = 0;
    let suffix = 0;
    if (state.checked.text !== ui.draft.value) {
      const limit = Math.min(old.length, chars.length);
      while (prefix < limit && old[prefix] === chars[prefix]) prefix += 1;
      while (suffix < limit - prefix && old[old.length - 1 - suffix] === chars[chars.length - 1 - suffix]) suffix += 1;
    } else {
      prefix = old.length;
    }
    const delta = chars.length - old.length;
    const tail = old.length - suffix;
    const ranges = [];
    state.checked.issues.forEach((issue, index) => {
      let start = Number(issue.start);
      let end = Number(issue.end);
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > old.length) return;
      const empty = start === end;
      if (prefix === old.length || (empty ? start < prefix : end <= prefix)) {
        // Before the edit: unchanged.
      } else if (empty ? start > tail : start >= tail) {
        start += delta;
        end += delta;
      } else {
        return;
      }
      ranges.push({ issue, index, start, end });
    });
    return ranges;
  }

  function severityOf(issue) {
    return SEVERITY[issue.severity] ? issue.severity : 'hint';
  }

  function renderEditor() {
    const text = ui.draft.value;
    const chars = Array.from(text);
    const gaps = findGaps(chars);

    // Gap layer: the gaps never overlap, each is one element.
    const gapNodes = [];
    let at = 0;
    for (const gap of gaps) {
      if (gap.start > at) gapNodes.push(chars.slice(at, gap.start).join(''));
      gapNodes.push(h('mark', { class: 'gap', 'data-testid': 'draft-gap' }, chars.slice(gap.start, gap.end).join('')));
      at = gap.end;
    }
    if (at < chars.length) gapNodes.push(chars.slice(at).join(''));
    // A trailing newline needs a character after it to take up its line, as in the textarea.
    ui.layerGaps.replaceChildren(...gapNodes, '\u200b');

    // Issue layer: issues may overlap; each piece takes the most severe issue covering it.
    // Issues without a span (something to insert) get a small mark at their position.
    const valid = validIssues(chars);
    const ranges = valid.filter((r) => r.end > r.start);
    const inserts = valid.filter((r) => r.end === r.start);
    const insertMarks = (at) =>
      inserts
        .filter((r) => r.start === at)
        .map((r) =>
          h('span', {
            class: `insert sev-${severityOf(r.issue)}${r.index === state.focusedIssue ? ' is-focused' : ''}`,
            'data-testid': 'draft-insert',
            'data-issues': String(r.index),
          }));
    const issueNodes = [];
    let position = 0;
    for (const piece of pieces(chars, ranges)) {
      issueNodes.push(...insertMarks(position));
      issueNodes.push(issuePiece(piece));
      position += Array.from(piece.text).length;
    }
    issueNodes.push(...insertMarks(chars.length));
    ui.layerIssues.replaceChildren(...issueNodes, '\u200b');

    autosize();
    renderGapHint(gaps);
  }

  function issuePiece(piece) {
    if (!piece.covering.length) return piece.text;
    const worst = piece.covering.reduce((a, b) =>
      SEVERITY[severityOf(b.issue)].rank > SEVERITY[severityOf(a.issue)].rank ? b : a);
    const indices = piece.covering.map((r) => r.index);
    return h(
      'span',
      {
        class: `issue sev-${severityOf(worst.issue)}${indices.includes(state.focusedIssue) ? ' is-focused' : ''}`,
        'data-testid': 'draft-issue',
        'data-issues': indices.join(' '),
        'data-severity': severityOf(worst.issue),
      },
      piece.text,
    );
  }

  function renderGapHint(gaps) {
    if (!gaps.length) {
      ui.gapHint.hidden = true;
      ui.gapHint.replaceChildren();
      return;
    }
    ui.gapHint.hidden = false;
    ui.gapHint.replaceChildren(
      h('span', null, gaps.length === 1 ? 'Заполните, пожалуйста, пропуск: ' : 'Заполните, пожалуйста, пропуски: '),
      ...gaps.map((gap) =>
        h(
          'button',
          {
            type: 'button',
            class: 'gap-chip',
            'data-testid': 'gap-chip',
            onclick: () => selectRange(gap.start, gap.end),
            'aria-label': `Выделить пропуск «${gap.label}» в черновике`,
          },
          `[${gap.label}]`,
        )),
    );
  }

  function syncScroll() {
    ui.layerGaps.scrollTop = ui.draft.scrollTop;
    ui.layerIssues.scrollTop = ui.draft.scrollTop;
  }

  /** Tooltips over the textarea: the issue pieces lie under it, found by position. */
  let hoverFrame = 0;
  function onDraftPointer(event) {
    if (hoverFrame) return;
    hoverFrame = window.requestAnimationFrame(() => {
      hoverFrame = 0;
      const stack = document.elementsFromPoint(event.clientX, event.clientY);
      const piece = stack.find((node) => node.dataset && node.dataset.issues !== undefined);
      if (!piece || !state.checked) {
        ui.draft.removeAttribute('title');
        return;
      }
      const messages = piece.dataset.issues
        .split(' ')
        .map((i) => state.checked.issues[Number(i)])
        .filter(Boolean)
        .map((issue) => `${SEVERITY[severityOf(issue)].label}: ${issue.message}`);
      ui.draft.title = messages.join('\n');
    });
  }

  function onDraftChanged() {
    renderEditor();
    markIssuesStale();
    if (state.rewrite) ui.rewriteStale.hidden = state.rewrite.source === ui.draft.value;
    window.clearTimeout(state.checkTimer);
    state.checkTimer = window.setTimeout(() => runCheck({ quiet: true }), CHECK_DELAY_MS);
  }

  // ---------------------------------------------------------------------------------------
  // Check

  function markIssuesStale() {
    const fresh = state.checked && state.checked.text === ui.draft.value;
    ui.issuesBlock.classList.toggle('is-stale', Boolean(state.checked) && !fresh);
  }

  async function runCheck({ quiet } = { quiet: false }) {
    window.clearTimeout(state.checkTimer);
    const text = ui.draft.value;
    const seq = (state.checkSeq += 1);
    if (!text.trim()) {
      state.checked = null;
      renderIssues();
      renderEditor();
      if (!quiet) showStatus('error', 'Черновик пуст.', 'Введите, пожалуйста, текст ответа.');
      return;
    }
    if (!state.ready) {
      if (!quiet) showStatus('loading', 'Модель загружается…', 'Проверка станет доступна через несколько секунд.');
      return;
    }
    ui.issuesBlock.setAttribute('aria-busy', 'true');
    if (!quiet) setBusy(ui.checkButton, true, 'Проверяем…');
    try {
      const data = await api('/v1/check', draftBody(text));
      if (seq !== state.checkSeq || ui.draft.value !== text) return;
      state.checked = { text, issues: data.issues || [], disabled: data.disabled || [] };
      state.focusedIssue = -1;
      renderEditor();
      renderIssues();
      if (!quiet) {
        const n = state.checked.issues.length;
        showStatus(
          n ? 'info' : 'success',
          n ? `Проверка завершена: ${n} ${plural(n, 'замечание', 'замечания', 'замечаний')}.` : 'Проверка завершена: замечаний нет.',
        );
      }
    } catch (error) {
      if (seq === state.checkSeq) reportError('Не удалось проверить черновик', error);
    } finally {
      if (seq === state.checkSeq) ui.issuesBlock.removeAttribute('aria-busy');
      if (!quiet) setBusy(ui.checkButton, false);
    }
  }

  function renderIssues() {
    markIssuesStale();
    const checked = state.checked;
    const issues = checked ? checked.issues : [];
    ui.issueCount.textContent = checked ? String(issues.length) : '';
    ui.issuesEmpty.hidden = Boolean(checked && issues.length);
    ui.issuesEmpty.textContent = checked
      ? 'Замечаний нет: черновик соответствует стилю.'
      : 'Введите черновик: замечания появятся здесь.';
    const chars = checked ? Array.from(checked.text) : [];
    ui.issues.replaceChildren(
      ...issues.map((issue, index) => {
        const severity = severityOf(issue);
        const start = Math.max(0, Number(issue.start) || 0);
        const end = Math.min(chars.length, Math.max(start, Number(issue.end) || 0));
        const fragment = chars.slice(start, end).join('');
        const replacements = Array.isArray(issue.replacements) ? issue.replacements.slice(0, 4) : [];
        const item = h(
          'li',
          { class: `issue-item sev-${severity}`, 'data-testid': 'issue-item', 'data-rule': issue.rule, 'data-severity': severity },
          h(
            'div',
            { class: 'issue-head' },
            h('span', { class: `badge sev-${severity}` }, SEVERITY[severity].label),
            h(
              'button',
              {
                type: 'button',
                class: fragment.trim() ? 'fragment' : 'fragment fragment-place',
                title: 'Показать в черновике',
                onclick: () => showIssue(index),
                'aria-label': fragment.trim() ? `Показать в черновике: «${fragment}»` : `Показать в черновике: ${place(start, chars.length)}`,
              },
              fragment.trim() ? `«${fragment}»` : place(start, chars.length),
            ),
          ),
          h('p', { class: 'issue-message', 'data-testid': 'issue-message' }, capitalize(String(issue.message || ''))),
          replacements.length
            ? h(
              'div',
              { class: 'replacements' },
              h('span', { class: 'replacements-label' },
                start === end ? 'Вставить:' : replacements.length === 1 ? 'Исправить:' : 'Варианты:'),
              ...replacements.map((replacement) =>
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'replacement',
                    'data-testid': 'issue-replacement',
                    title: 'Заменить в черновике',
                    onclick: () => applyReplacement(issue, replacement),
                    'aria-label': !replacement
                      ? `Удалить «${fragment}»`
                      : start === end
                        ? `Вставить «${replacement.trim()}»`
                        : `Заменить «${fragment}» на «${replacement}»`,
                  },
                  replacement ? replacement : 'удалить',
                )),
            )
            : null,
        );
        item.addEventListener('mouseenter', () => focusIssue(index));
        item.addEventListener('mouseleave', () => focusIssue(-1));
        item.addEventListener('focusin', () => focusIssue(index));
        item.addEventListener('focusout', () => focusIssue(-1));
        return item;
      }),
    );
    const disabled = checked ? checked.disabled : [];
    ui.disabledRules.hidden = !disabled.length;
    ui.disabledRules.textContent = disabled.length
      ? `Не проверялось: ${disabled.map((d) => capitalize(String(d.reason || d.rule)).replace(/\.$/, '')).join('; ')}.`
      : '';
  }

  /** Selects issue `index` of the last check in the draft, wherever the edits since moved it. */
  function showIssue(index) {
    const range = validIssues(Array.from(ui.draft.value)).find((r) => r.index === index);
    if (range) selectRange(range.start, range.end);
    else showStatus('info', 'Этот фрагмент уже изменён.', 'Замечания обновятся после проверки.');
  }

  /** Where an insertion goes, in words. */
  function place(at, length) {
    if (at === 0) return 'в начале текста';
    if (at >= length) return 'в конце текста';
    return 'место вставки';
  }

  function focusIssue(index) {
    state.focusedIssue = index;
    for (const piece of ui.layerIssues.querySelectorAll('[data-issues]')) {
      piece.classList.toggle('is-focused', piece.dataset.issues.split(' ').includes(String(index)));
    }
  }

  function applyReplacement(issue, replacement) {
    if (!state.checked || state.checked.text !== ui.draft.value) {
      showStatus('info', 'Черновик изменился.', 'Проверяем его заново, выберите исправление ещё раз.');
      runCheck({ quiet: true });
      return;
    }
    const chars = Array.from(ui.draft.value);
    const start = Number(issue.start);
    const end = Number(issue.end);
    const before = chars.slice(0, start).join('') + replacement;
    const text = before + chars.slice(end).join('');
    setDraft(text, before.length);
    ui.draft.focus();
    runCheck({ quiet: true });
    showStatus('success', 'Исправление внесено в черновик.');
  }

  // ---------------------------------------------------------------------------------------
  // Rewrite

  async function runRewrite() {
    const text = ui.draft.value;
    if (!text.trim()) {
      showStatus('error', 'Черновик пуст.', 'Введите, пожалуйста, текст ответа.');
      ui.draft.focus();
      return;
    }
    setBusy(ui.rewriteButton, true, 'Готовим вариант…');
    try {
      const data = await api('/v1/rewrite', draftBody(text));
      state.rewrite = {
        source: text,
        text: String(data.text || ''),
        edits: data.edits || [],
        issues: data.issues || [],
        similarity: data.similarity,
        withheld: data.withheld || [],
      };
      renderRewrite();
      ui.rewritePanel.hidden = false;
      ui.rewriteHeading.focus({ preventScroll: true });
      ui.rewritePanel.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
      const n = state.rewrite.edits.length;
      showStatus(
        'success',
        n
          ? `Вежливый вариант готов: ${n} ${plural(n, 'правка', 'правки', 'правок')}.`
          : 'Черновик уже соответствует стилю: правок нет.',
      );
    } catch (error) {
      reportError('Не удалось подготовить вежливый вариант', error);
    } finally {
      setBusy(ui.rewriteButton, false);
    }
  }

  function renderRewrite() {
    const r = state.rewrite;
    ui.rewriteStale.hidden = r.source === ui.draft.value;
    ui.rewriteText.replaceChildren(...withGaps(r.text));

    const meta = [];
    if (typeof r.similarity === 'number' && Number.isFinite(r.similarity)) {
      meta.push(`Близость по смыслу к черновику: ${Math.round(Math.max(0, Math.min(1, r.similarity)) * 100)} %.`);
    }
    meta.push(r.edits.length
      ? `${r.edits.length} ${plural(r.edits.length, 'правка', 'правки', 'правок')}.`
      : 'Правок нет.');
    ui.rewriteMeta.textContent = meta.join(' ');

    ui.rewriteDiff.replaceChildren(...renderDiff(diffWords(r.source, r.text)));

    // The edits come in the order the rules ran; the operator reads them in text order.
    const edits = r.edits.map((edit, order) => ({ edit, order }))
      .sort((a, b) => (Number(a.edit.start) || 0) - (Number(b.edit.start) || 0) || a.order - b.order)
      .map((e) => e.edit);
    ui.rewriteEdits.replaceChildren(...edits.map((edit) => editItem(edit, 'rewrite-edit')));
    if (!r.edits.length) ui.rewriteEdits.append(h('li', { class: 'empty' }, 'Правки не потребовались.'));

    ui.rewriteWithheldBlock.hidden = !r.withheld.length;
    ui.rewriteWithheld.replaceChildren(...r.withheld.map((edit) => editItem(edit, 'rewrite-withheld-edit')));

    ui.rewriteRemainingBlock.hidden = !r.issues.length;
    const chars = Array.from(r.text);
    ui.rewriteRemaining.replaceChildren(
      ...r.issues.map((issue) => {
        const severity = severityOf(issue);
        const fragment = chars.slice(Number(issue.start) || 0, Number(issue.end) || 0).join('');
        return h(
          'li',
          { class: `remaining-item sev-${severity}`, 'data-testid': 'rewrite-remaining-item' },
          h('span', { class: `badge sev-${severity}` }, SEVERITY[severity].label),
          ' ',
          fragment.trim() ? h('q', { class: 'quote' }, fragment) : null,
          fragment.trim() ? ' ' : null,
          capitalize(String(issue.message || '')),
        );
      }),
    );
  }

  function editItem(edit, testid) {
    const before = String(edit.before || '');
    const after = String(edit.after || '');
    let change;
    if (before && after) {
      change = [h('del', null, before), h('span', { class: 'arrow', 'aria-label': 'заменено на' }, ' → '), h('ins', null, after)];
    } else if (after) {
      change = [h('span', { class: 'edit-kind' }, 'Добавлено: '), h('ins', null, after)];
    } else {
      change = [h('span', { class: 'edit-kind' }, 'Удалено: '), h('del', null, before)];
    }
    return h(
      'li',
      { class: 'edit', 'data-testid': testid, 'data-rule': edit.rule },
      h('span', { class: 'edit-change' }, change),
      h('span', { class: 'edit-reason', 'data-testid': 'rewrite-reason' }, capitalize(String(edit.reason || ''))),
    );
  }

  function acceptRewrite() {
    if (!state.rewrite) return;
    const text = state.rewrite.text;
    ui.rewritePanel.hidden = true;
    state.rewrite = null;
    setDraft(text, text.length);
    ui.draft.focus();
    runCheck({ quiet: true });
    showStatus('success', 'Вежливый вариант перенесён в черновик.');
  }

  function dismissRewrite() {
    ui.rewritePanel.hidden = true;
    state.rewrite = null;
    ui.rewriteButton.focus();
  }

  // ---------------------------------------------------------------------------------------
  // Word-level diff

  /** Words (letters, digits, joined by hyphens and apostrophes), runs of spaces and single
   *  punctuation marks. */
  function tokenize(text) {
    return text.match(/\s+|[\p{L}\p{N}\p{M}_]+(?:[-'’][\p{L}\p{N}\p{M}_]+)*|[^\s]/gu) || [];
  }

  /** `[{ type: 'eq' | 'del' | 'ins', text }]` turning `a` into `b`, word by word. */
  function diffWords(a, b) {
    const x = tokenize(a);
    const y = tokenize(b);
    let pre = 0;
    while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre += 1;
    let suf = 0;
    while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf += 1;
    const xs = x.slice(pre, x.length - suf);
    const ys = y.slice(pre, y.length - suf);
    const ops = x.slice(0, pre).map((t) => ({ type: 'eq', text: t }));
    const n = xs.length;
    const m = ys.length;
    if (n * m > 4000000) {
      for (const t of xs) ops.push({ type: 'del', text: t });
      for (const t of ys) ops.push({ type: 'ins', text: t });
    } else {
      // lcs[i][j]: the longest common subsequence of xs[i..] and ys[j..].
      const w = m + 1;
      const lcs = new Uint32Array((n + 1) * w);
      for (let i = n - 1; i >= 0; i -= 1) {
        for (let j = m - 1; j >= 0; j -= 1) {
          lcs[i * w + j] = xs[i] === ys[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
        }
      }
      let i = 0;
      let j = 0;
      while (i < n || j < m) {
        if (i < n && j < m && xs[i] === ys[j]) {
          ops.push({ type: 'eq', text: xs[i] });
          i += 1;
          j += 1;
        } else if (j >= m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
          ops.push({ type: 'del', text: xs[i] });
          i += 1;
        } else {
          ops.push({ type: 'ins', text: ys[j] });
          j += 1;
        }
      }
    }
    for (const t of x.slice(x.length - suf)) ops.push({ type: 'eq', text: t });
    return groupOps(ops);
  }

  /** Joins changed runs into one deletion and one insertion; a space alone between two changes
   *  joins them, so that «щас гляну» → «сейчас посмотрю» reads as one change. */
  function groupOps(ops) {
    const out = [];
    let del = '';
    let ins = '';
    const flush = () => {
      if (del) out.push({ type: 'del', text: del });
      if (ins) out.push({ type: 'ins', text: ins });
      del = '';
      ins = '';
    };
    for (let k = 0; k < ops.length; k += 1) {
      const op = ops[k];
      if (op.type === 'eq') {
        const next = ops[k + 1];
        if ((del || ins) && /^\s+$/.test(op.text) && next && next.type !== 'eq') {
          del += op.text;
          ins += op.text;
          continue;
        }
        flush();
        const last = out[out.length - 1];
        if (last && last.type === 'eq') last.text += op.text;
        else out.push({ type: 'eq', text: op.text });
      } else if (op.type === 'del') {
        del += op.text;
      } else {
        ins += op.text;
      }
    }
    flush();
    return out;
  }

  function renderDiff(ops) {
    if (!ops.some((op) => op.type !== 'eq')) return [h('span', { class: 'muted' }, 'Текст не изменился.')];
    return ops.map((op) => {
      if (op.type === 'eq') return op.text;
      const label = op.type === 'del' ? 'удалено: ' : 'добавлено: ';
      return h(op.type, { 'data-testid': op.type === 'del' ? 'diff-del' : 'diff-ins' },
        h('span', { class: 'visually-hidden' }, label), op.text);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Copy

  async function copyDraft() {
    const text = ui.draft.value;
    if (!text.trim()) {
      showStatus('error', 'Черновик пуст.', 'Копировать пока нечего.');
      return;
    }
    // The reply counts as sent when the operator asks to copy it: a clipboard write can stay
    // pending (no permission, page not focused), and the dialogue must move on regardless.
    replySent(text);
    try {
      await navigator.clipboard.writeText(text);
      showStatus('success', 'Текст ответа скопирован.');
    } catch (_) {
      ui.draft.focus();
      ui.draft.select();
      showStatus('info', 'Текст выделен.', 'Скопируйте его, пожалуйста, сочетанием Ctrl + C.');
    }
  }

  // ---------------------------------------------------------------------------------------
  // Wiring

  function init() {
    ui.token.value = storageGet(TOKEN_KEY);
    ui.operatorName.value = storageGet(OPERATOR_KEY);
    const profile = storageGet(PROFILE_KEY);
    if (profile && [...ui.profile.options].some((o) => o.value === profile)) ui.profile.value = profile;

    ui.accessForm.addEventListener('submit', (event) => {
      event.preventDefault();
      storageSet(TOKEN_KEY, ui.token.value.trim());
      storageSet(OPERATOR_KEY, ui.operatorName.value.trim());
      ui.access.open = false;
      showStatus('success', 'Настройки доступа сохранены.');
    });
    ui.tokenClear.addEventListener('click', () => {
      ui.token.value = '';
      storageSet(TOKEN_KEY, '');
      showStatus('info', 'Токен удалён из этого браузера.');
    });

    ui.suggestForm.addEventListener('submit', (event) => {
      event.preventDefault();
      if (state.ready && ui.suggestButton.dataset.busy !== 'true') suggest();
    });
    ui.clientMessage.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        ui.suggestForm.requestSubmit();
      }
    });
    ui.clientMessage.addEventListener('input', () => {
      if (state.checked) {
        window.clearTimeout(state.checkTimer);
        state.checkTimer = window.setTimeout(() => runCheck({ quiet: true }), CHECK_DELAY_MS * 2);
      }
    });
    ui.clientName.addEventListener('change', () => {
      newDialogue();
      runCheck({ quiet: true });
    });
    ui.firstMessage.addEventListener('change', () => runCheck({ quiet: true }));
    ui.profile.addEventListener('change', () => {
      storageSet(PROFILE_KEY, ui.profile.value);
      runCheck({ quiet: true });
    });

    ui.draft.addEventListener('input', onDraftChanged);
    ui.draft.addEventListener('scroll', syncScroll);
    ui.draft.addEventListener('mousemove', onDraftPointer);
    ui.draft.addEventListener('mouseleave', () => ui.draft.removeAttribute('title'));
    window.addEventListener('resize', autosize);

    ui.checkButton.addEventListener('click', () => runCheck({ quiet: false }));
    ui.rewriteButton.addEventListener('click', runRewrite);
    ui.copyButton.addEventListener('click', copyDraft);
    ui.rewriteAccept.addEventListener('click', acceptRewrite);
    ui.rewriteDismiss.addEventListener('click', dismissRewrite);

    renderEditor();
    renderIssues();
    setReady(false, 'Подключение к серверу…');
    pollReady();
  }

  init();
})();
