import { css } from 'lit';

// Everything scoped to the shadow root: the component adds no global CSS.
export const irnImageStyles = css`
  :host {
    display: inline-block;
    vertical-align: bottom;
    max-width: 100%;
    line-height: 0;
  }
  :host([hidden]) {
    display: none;
  }
  img {
    display: block;
    max-width: 100%;
    /* The width/height attributes give the final size (no CSS width here: it would override
       them); the height follows the width when max-width shrinks it. */
    height: auto;
    object-fit: var(--irn-image-fit, fill);
    object-position: var(--irn-image-position, 50% 50%);
    background: var(--irn-image-background, transparent);
  }
  img.lr {
    image-rendering: var(--irn-image-lr-rendering, auto);
    filter: var(--irn-image-lr-filter, none);
  }
  img.restored {
    animation: irn-image-fade var(--irn-image-fade-duration, 0s) ease-out;
  }
  @keyframes irn-image-fade {
    from {
      opacity: var(--irn-image-fade-from, 0.6);
    }
  }
`;
