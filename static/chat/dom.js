// Small DOM helpers shared by the page modules. Text only ever goes in via textContent.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The page's elements with these ids, in the same order.
export function byIds(...ids) {
  return ids.map((id) => document.getElementById(id));
}

// A number the server put in a data- attribute (a limit it enforces or a pace it expects).
// The page always renders it: a missing one is a bug to see, not a default to guess.
export function dataNumber(node, name) {
  const value = Number(node.dataset[name]);
  if (node.dataset[name] === undefined || node.dataset[name] === "" || !Number.isFinite(value)) {
    throw new Error("data-" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()) + " is missing on " + (node.id ? "#" + node.id : node.tagName));
  }
  return value;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatTime(iso) {
  const date = new Date(iso);
  return isNaN(date) ? "" : timeFormat.format(date);
}

export function formatDateTime(iso) {
  const date = new Date(iso);
  return isNaN(date) ? "" : dateTimeFormat.format(date);
}
