/**
 * core/crypto's public API: master key loading and keyrings, the master sealer (TOTP secrets),
 * per-patient field encryption, and master key rotation. All AES-256-GCM via node:crypto.
 */
export { DecryptionError, PatientKeyUnavailableError, type MasterSealer, type PatientCipher } from './types.ts';
export {
  createMasterKeyring,
  generateMasterKey,
  masterKeyFromBase64,
  masterKeyFromBytes,
  masterKeyIdOf,
  MASTER_KEY_BYTES,
  type MasterKey,
  type MasterKeyring,
} from './keyring.ts';
export {
  loadMasterKey,
  loadMasterKeyring,
  pendingMasterKeyPath,
  promotePendingMasterKey,
  readMasterKeyFile,
  writeMasterKeyFileExclusive,
  type MasterKeyConfig,
} from './master-key.ts';
export { createMasterSealer, sealedKeyId, totpSecretAad } from './master-sealer.ts';
export { createPatientCipher, patientKeyAad, type PatientFieldCipher } from './patient-cipher.ts';
export { rotateMasterKey, type RotateMasterKeyOptions, type RotateMasterKeyResult } from './rotate.ts';
