/// <reference lib="dom" />
/**
 * A tiny element builder for the web pages' UI pieces: `h("button", { onclick }, "Run")`.
 * No framework: each piece owns a few elements and updates them directly.
 *
 * @module
 */

/** Properties of an element to create: DOM properties, plus `class` and `data-*` attributes. */
export type Props<K extends keyof HTMLElementTagNameMap> =
  & Partial<Omit<HTMLElementTagNameMap[K], "style" | "dataset">>
  & { class?: string; style?: string; [data: `data-${string}`]: string };

/** What may go inside an element: nodes, text, or nothing (skipped). */
export type Child = Node | string | number | false | null | undefined;

/**
 * Creates an element with properties and children.
 *
 * @param tag the tag name
 * @param props DOM properties (`onclick`, `value`…), `class`, `style` and `data-*` attributes
 * @param children nodes and text
 * @returns the element
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props<K> = {} as Props<K>,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === "class") element.className = String(value);
    else if (key === "style" || key.startsWith("data-")) element.setAttribute(key, String(value));
    else (element as unknown as Record<string, unknown>)[key] = value;
  }
  append(element, ...children);
  return element;
}

/**
 * Appends children, skipping `false`, `null` and `undefined`.
 *
 * @param parent where to append
 * @param children nodes and text
 */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/**
 * A labelled form field: `<label>text <input></label>`.
 *
 * @param text the label
 * @param control the input, select or textarea
 * @returns the label element
 */
export function field(text: string, control: HTMLElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, text), control);
}
