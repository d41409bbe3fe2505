/**
 * The default vocabulary the PHI linter refuses in reminder text: diagnoses, medications,
 * specialties and procedures whose mere mention in an SMS or email would reveal something about
 * the recipient's health ("your oncology appointment", "bring your insulin"). A lock-screen preview
 * is enough to disclose it, so reminders stay generic. Matched case-insensitively on word
 * boundaries; a clinic extends or narrows the list through the linter's options.
 */

export const TermCategory = {
  diagnosis: 'diagnosis',
  medication: 'medication',
  specialty: 'specialty',
  procedure: 'procedure',
} as const;
export type TermCategory = (typeof TermCategory)[keyof typeof TermCategory];

export interface VocabularyTerm {
  /** Lower-case; may contain spaces or hyphens (matched as written, on word boundaries). */
  readonly term: string;
  readonly category: TermCategory;
}

const t = (category: TermCategory, words: readonly string[]): VocabularyTerm[] => words.map((term) => ({ term, category }));

export const DEFAULT_VOCABULARY: readonly VocabularyTerm[] = [
  ...t(TermCategory.diagnosis, [
    'hiv', 'aids', 'cancer', 'tumor', 'tumour', 'leukemia', 'lymphoma', 'melanoma', 'carcinoma', 'diabetes', 'diabetic',
    'hepatitis', 'cirrhosis', 'tuberculosis', 'syphilis', 'gonorrhea', 'chlamydia', 'herpes', 'hpv', 'std', 'stds', 'sti', 'stis',
    'trichomoniasis', 'depression', 'anxiety', 'bipolar', 'schizophrenia', 'ptsd', 'adhd', 'autism', 'dementia', 'alzheimer',
    "alzheimer's", 'parkinson', "parkinson's", 'epilepsy', 'stroke', 'asthma', 'copd', 'hypertension', 'obesity', 'anorexia',
    'bulimia', 'eating disorder', 'addiction', 'substance use', 'alcoholism', 'overdose', 'opioid', 'opioids', 'suicide',
    'suicidal', 'self-harm', 'infertility', 'miscarriage', 'pregnancy', 'pregnant', 'abortion', 'dysfunction', 'incontinence',
    'kidney failure', 'renal failure', 'heart failure', 'covid', 'covid-19', 'positive test', 'biopsy results',
  ]),
  ...t(TermCategory.medication, [
    'insulin', 'metformin', 'methadone', 'buprenorphine', 'suboxone', 'naloxone', 'narcan', 'naltrexone', 'prep', 'truvada',
    'antiretroviral', 'antidepressant', 'antidepressants', 'antipsychotic', 'lithium', 'adderall', 'ritalin', 'xanax', 'prozac',
    'zoloft', 'oxycodone', 'fentanyl', 'morphine', 'chemo', 'testosterone', 'estrogen', 'contraceptive', 'birth control',
    'viagra', 'ozempic', 'semaglutide',
  ]),
  ...t(TermCategory.specialty, [
    'oncology', 'oncologist', 'psychiatry', 'psychiatric', 'psychiatrist', 'psychology', 'psychologist', 'psychotherapy',
    'therapist', 'counseling', 'counselling', 'behavioral health', 'mental health', 'rehab', 'rehabilitation', 'detox',
    'cardiology', 'cardiologist', 'neurology', 'neurologist', 'nephrology', 'urology', 'urologist', 'gynecology',
    'gynecologist', 'obstetrics', 'ob-gyn', 'obgyn', 'prenatal', 'fertility', 'dermatology', 'endocrinology', 'gastroenterology',
    'hematology', 'infectious disease', 'sexual health', 'hospice', 'palliative',
  ]),
  ...t(TermCategory.procedure, [
    'chemotherapy', 'radiation', 'radiotherapy', 'dialysis', 'transplant', 'surgery', 'colonoscopy', 'mammogram', 'biopsy',
    'ultrasound', 'mri', 'ct scan', 'vasectomy', 'ivf', 'lab results', 'test results', 'blood test',
  ]),
];
