/**
 * Thrown when a PyTorch checkpoint cannot be read or is refused: not a checkpoint at all,
 * truncated, corrupt, asking the pickle for a global a state_dict never needs, or (for IRN)
 * holding keys or shapes that do not match the network. The message says what is wrong and
 * where (key, byte offset, expected vs actual shape).
 */
export class TorchFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchFormatError';
  }
}
