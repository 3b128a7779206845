// Re-renders the panel by changing only what differs from the last render. The panel renders from its state several
// times a second while a run trains; replacing all of it each time would drop a click whose button is replaced
// between mouse down and up, reset the table's sideways scroll and move focus out of the control a keyboard user is on.

/** Makes `target`'s children those of `html`: nodes of the same kind (and key) are updated in place, others replaced. */
export function morphInto(target: HTMLElement, html: string): void {
  const next = document.createElement('div');
  next.innerHTML = html;
  morphChildren(target, next);
}

function morphChildren(from: Node, to: Node): void {
  const old = Array.from(from.childNodes);
  const fresh = Array.from(to.childNodes);
  fresh.forEach((node, i) => {
    const current = old[i];
    if (!current) from.appendChild(node);
    else if (sameKind(current, node)) morphNode(current, node);
    else from.replaceChild(node, current);
  });
  for (let i = old.length - 1; i >= fresh.length; i--) from.removeChild(old[i]);
}

/** Same node type and tag, and for elements the same identity: a run's row stays that run's row. */
function sameKind(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
  if (!(a instanceof Element) || !(b instanceof Element)) return true;
  return KEYS.every((k) => a.getAttribute(k) === b.getAttribute(k));
}

const KEYS = ['id', 'data-run', 'data-chart', 'type', 'name'];

function morphNode(current: Node, fresh: Node): void {
  if (!(current instanceof Element) || !(fresh instanceof Element)) {
    if (current.nodeValue !== fresh.nodeValue) current.nodeValue = fresh.nodeValue;
    return;
  }
  for (const { name } of Array.from(current.attributes)) if (!fresh.hasAttribute(name)) current.removeAttribute(name);
  for (const { name, value } of Array.from(fresh.attributes))
    if (current.getAttribute(name) !== value) current.setAttribute(name, value);
  morphChildren(current, fresh);
  syncFormState(current, fresh);
}

/** Attributes set a control's initial state only: its live state follows the render too. */
function syncFormState(current: Element, fresh: Element): void {
  if (current instanceof HTMLInputElement) {
    const checked = fresh.hasAttribute('checked');
    if (current.checked !== checked) current.checked = checked;
    const value = fresh.getAttribute('value');
    if (value !== null && current.value !== value) current.value = value;
  } else if (current instanceof HTMLSelectElement) {
    const selected = Array.from((fresh as HTMLSelectElement).options).findIndex((o) => o.hasAttribute('selected'));
    if (selected >= 0 && current.selectedIndex !== selected) current.selectedIndex = selected;
  }
}
