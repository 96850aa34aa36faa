import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { remarkMarkWords } from "../../chat/highlight";

// Model output is untrusted: react-markdown never renders raw HTML (no rehype-raw here) and
// drops javascript: and other unsafe URLs; links open in a new tab without an opener.
const components: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer" />,
};

/** `highlight`: folded words (chat/highlight.ts) to mark where they appear. */
export function Markdown({ text, highlight }: { text: string; highlight?: readonly string[] | undefined }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={highlight?.length ? [remarkGfm, [remarkMarkWords, { words: highlight }]] : [remarkGfm]}
        rehypePlugins={[[rehypeHighlight, { detect: false, ignoreMissing: true }]]}
        skipHtml
        components={components}
      >
        {text}
      </ReactMarkdown>
    </div>
  );
}
