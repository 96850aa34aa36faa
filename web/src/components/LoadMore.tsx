/** The "load more" button under a cursor-paginated list (nothing once the list is complete). */
export function LoadMore(props: {
  hasMore: boolean;
  loading: boolean;
  onLoad: () => void;
  label?: string;
}) {
  if (!props.hasMore) return null;
  return (
    <div className="load-more">
      <button type="button" className="button" disabled={props.loading} onClick={props.onLoad}>
        {props.loading ? "Loading…" : (props.label ?? "Load more")}
      </button>
    </div>
  );
}
