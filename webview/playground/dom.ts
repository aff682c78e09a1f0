// Small DOM helpers for the playground page: elements built in code (no HTML strings, so no
// injection and nothing the CSP would refuse), and the toolkit's value-bearing components read
// and written through one typed shape.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string | undefined | false)[]): HTMLElementTagNameMap[K] {
  const { dataset, ...rest } = props;
  const e = Object.assign(document.createElement(tag), rest);
  if (dataset) Object.assign(e.dataset, dataset);
  for (const c of children) if (c !== undefined && c !== false) e.append(c);
  return e;
}

/** A toolkit component (vscode-button, vscode-dropdown, …) created by tag name. */
export function tk(tag: string, props: Record<string, unknown> = {}, ...children: (Node | string | undefined | false)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (k === 'className' || k === 'id' || k === 'textContent' || k === 'title') (e as unknown as Record<string, unknown>)[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== false) e.append(c);
  return e;
}

export interface ValueElement extends HTMLElement {
  value: string;
  disabled: boolean;
}

export const valueOf = (e: Element | null): string => (e as ValueElement | null)?.value ?? '';

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`playground: element #${id} is missing`);
  return e as T;
}

export function button(id: string, text: string, onClick: () => void, secondary = false, title?: string): HTMLElement {
  const b = tk('vscode-button', { id, textContent: text, appearance: secondary ? 'secondary' : undefined, title });
  b.addEventListener('click', () => {
    if (!(b as ValueElement).disabled) onClick();
  });
  return b;
}

export function setDisabled(e: Element | null, disabled: boolean): void {
  if (!e) return;
  (e as ValueElement).disabled = disabled;
  if (disabled) e.setAttribute('disabled', '');
  else e.removeAttribute('disabled');
}
