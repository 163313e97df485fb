/**
 * The images of the next message: pasted, dropped or attached files, uploaded
 * to the server at once, and shown as removable thumbnails in the composer.
 */
import * as React from 'react';

import { ChatModel } from '../model/chat';

/** An uploaded image: its id for the message and its thumbnail URL. */
export interface IComposerImage {
  id: string;
  url: string;
}

/** The composer's images and the ways to add them. */
export function useImages(chat: ChatModel): {
  images: IComposerImage[];
  setImages: React.Dispatch<React.SetStateAction<IComposerImage[]>>;
  addImage: (source: { dataUrl: string } | { path: string }) => Promise<void>;
  /** Add the image files among `files`; false when there was none. */
  addFiles: (files: Iterable<File>) => boolean;
} {
  const [images, setImages] = React.useState<IComposerImage[]>([]);
  const addImage = async (source: { dataUrl: string } | { path: string }) => {
    const image = await chat.uploadImage(source);
    if (image) {
      setImages(list => [...list, image]);
    }
  };
  const addFiles = (files: Iterable<File>) => {
    let added = false;
    for (const file of files) {
      if (!file.type.startsWith('image/')) {
        continue;
      }
      added = true;
      const reader = new FileReader();
      reader.onload = () => void addImage({ dataUrl: String(reader.result) });
      reader.readAsDataURL(file);
    }
    return added;
  };
  return { images, setImages, addImage, addFiles };
}

/** The thumbnails of the images, each with its remove button. */
export function ImageChips(props: {
  images: readonly IComposerImage[];
  setImages: React.Dispatch<React.SetStateAction<IComposerImage[]>>;
}): JSX.Element | null {
  const { images, setImages } = props;
  if (images.length === 0) {
    return null;
  }
  return (
    <div className="jp-codex-Chips jp-codex-ImageChips">
      {images.map(image => (
        <span className="jp-codex-Chip jp-codex-ImageChip" key={image.id}>
          <img src={image.url} alt="attached image" />
          <button
            className="jp-codex-ChipRemove"
            aria-label="Remove image"
            onClick={() =>
              setImages(list => list.filter(i => i.id !== image.id))
            }
          >
            ×
          </button>
        </span>
      ))}
    </div>
  );
}
