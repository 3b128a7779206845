// Text put into HTML and SVG markup: the one escape of the report, the forest plot and the runs panel.

/** `s` with &, <, >, " and ' as character references: safe in element text and in quoted attributes. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
