// The image `project new` writes when none is given: recognisably not a real one, so
// `check` can list it as still to fill in. Light on purpose: `check` loads it.

/** The registry of the placeholder image. */
export const PLACEHOLDER_REGISTRY = 'registry.example.com';

export function isPlaceholderImage(image: string): boolean {
  return image.startsWith(`${PLACEHOLDER_REGISTRY}/`);
}
