/** The login form of a fleet page that requires a token: the token goes in a POST body, never a URL. */
import { html } from 'hono/html';
import { page, type Html } from './layout.js';

export function renderLoginPage(next: string, problem: string | null): Html {
  const body = html`<section class="card login">
<h1>Log in</h1>
<p class="sub">This fleet page requires its access token (FLEETVIEW_UI_TOKEN).</p>
${problem ? html`<div class="notice bad" id="login-problem">${problem}</div>` : ''}
<form method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<p><label>Token<br><input type="password" name="token" autocomplete="current-password" required autofocus></label></p>
<button type="submit">Log in</button>
</form>
</section>`;
  return page({ title: 'Log in', nav: null, logout: null }, body);
}
