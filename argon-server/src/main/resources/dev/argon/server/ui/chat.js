// Argon's chat page: talks to this server's /v1/chat/completions with streaming (Server-Sent
// Events), keeps the conversation in the page, and shows the speed. No dependencies, no build step.
// Text from the model or the user is always inserted as text (textContent), never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const SAMPLING = ['temperature', 'top_p', 'top_k', 'min_p', 'repeat_penalty', 'seed', 'max_tokens'];
const history = []; // {role, content} turns of this conversation (the system prompt is added per request)
let controller = null;

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

function setStatus(text, error) {
  $('status').textContent = text;
  $('status').classList.toggle('error', !!error);
}

function addMessage(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  const who = document.createElement('div');
  who.className = 'role';
  who.textContent = role;
  const body = document.createElement('div');
  body.className = 'text';
  body.textContent = text;
  div.append(who, body);
  $('messages').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

async function errorMessage(res) {
  try {
    const j = await res.json();
    if (j && j.error) return typeof j.error === 'string' ? j.error : j.error.message;
  } catch (e) { /* not JSON */ }
  return 'HTTP ' + res.status;
}

/** The model name and the server's default sampling (shown as placeholders). */
async function loadInfo() {
  try {
    const res = await fetch('/v1/models', { headers: headers() });
    if (!res.ok) {
      $('model').textContent = '';
      setStatus(res.status === 401 ? 'This server needs an API key: enter it under Settings.' : await errorMessage(res), true);
      return;
    }
    $('model').textContent = (await res.json()).data[0].id;
    setStatus('');
    const props = await fetch('/props', { headers: headers() });
    if (props.ok) {
      const p = (await props.json()).default_generation_settings.params;
      for (const name of SAMPLING) {
        if (p[name] !== undefined) $(name).placeholder = String(p[name]);
      }
    }
  } catch (e) {
    setStatus('Cannot reach the server: ' + e.message, true);
  }
}

function request(messages) {
  const body = { messages, stream: true, stream_options: { include_usage: true } };
  for (const name of SAMPLING) {
    const v = $(name).value.trim();
    if (v !== '') body[name] = Number(v);
  }
  return body;
}

function busy(on) {
  $('send').disabled = on;
  $('stop').disabled = !on;
}

async function send(text) {
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const messages = [];
  const system = $('system').value.trim();
  if (system) messages.push({ role: 'system', content: system });
  messages.push(...history);

  const bubble = addMessage('assistant', '');
  const out = bubble.querySelector('.text');
  bubble.classList.add('streaming');
  bubble.dataset.chunks = '0';
  controller = new AbortController();
  busy(true);
  setStatus('waiting for the model…');
  let answer = '';
  let chunks = 0;
  let first = 0;
  let usage = null;
  let finish = null;
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers(), body: JSON.stringify(request(messages)), signal: controller.signal,
    });
    if (!res.ok) throw new Error(await errorMessage(res));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const data = line.slice(6);
          if (data === '[DONE]') continue;
          const j = JSON.parse(data);
          if (j.error) throw new Error(j.error.message);
          if (j.usage) usage = j.usage;
          const c = j.choices && j.choices[0];
          if (!c) continue;
          if (c.delta && c.delta.content) {
            if (!first) first = performance.now();
            answer += c.delta.content;
            chunks++;
            out.textContent = answer;
            bubble.dataset.chunks = String(chunks);
            const s = (performance.now() - first) / 1000;
            setStatus(chunks + ' pieces' + (s > 0.2 ? ' · ' + ((chunks - 1) / s).toFixed(1) + ' pieces/s' : ''));
            bubble.scrollIntoView({ block: 'end' });
          }
          if (c.finish_reason) finish = c.finish_reason;
        }
      }
    }
    history.push({ role: 'assistant', content: answer });
    const seconds = first ? (performance.now() - first) / 1000 : 0;
    const tokens = usage ? usage.completion_tokens : chunks;
    const speed = seconds > 0 && tokens > 1 ? ((tokens - 1) / seconds).toFixed(1) + ' tokens/s' : '';
    setStatus([tokens + ' tokens', speed, usage ? 'prompt ' + usage.prompt_tokens + ' tokens' : '', 'finish: ' + finish]
      .filter((x) => x).join(' · '));
  } catch (e) {
    if (e.name === 'AbortError') {
      bubble.classList.add('stopped');
      history.push({ role: 'assistant', content: answer });
      setStatus('stopped after ' + chunks + ' pieces');
    } else {
      bubble.classList.add('error');
      out.textContent = 'Error: ' + e.message;
      history.pop(); // the user's turn got no answer: it is not part of the conversation
      setStatus(e.message, true);
    }
  } finally {
    bubble.classList.remove('streaming');
    bubble.dataset.done = 'true';
    controller = null;
    busy(false);
  }
}

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('input').value.trim();
  if (!text || controller) return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', () => { if (controller) controller.abort(); });
$('new-chat').addEventListener('click', () => {
  if (controller) controller.abort();
  history.length = 0;
  $('messages').replaceChildren();
  setStatus('');
});
$('toggle-settings').addEventListener('click', () => {
  const hidden = $('settings').classList.toggle('hidden');
  $('toggle-settings').setAttribute('aria-expanded', String(!hidden));
});
$('api-key').value = sessionStorage.getItem('argon-api-key') || '';
$('api-key').addEventListener('change', () => {
  sessionStorage.setItem('argon-api-key', $('api-key').value.trim());
  loadInfo();
});
loadInfo();
