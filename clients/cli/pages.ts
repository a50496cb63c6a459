/** Every item of a paged List call, page after page. */
export async function allPages<P extends { nextPageToken: string }, I>(
  fetchPage: (pageToken: string) => Promise<P>,
  items: (page: P) => I[],
): Promise<I[]> {
  const all: I[] = [];
  let pageToken = '';
  do {
    const page = await fetchPage(pageToken);
    all.push(...items(page));
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return all;
}
