export const uiTests = [];
